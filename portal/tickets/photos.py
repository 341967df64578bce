"""Photos: checked by content (JPEG, PNG or WebP), re-encoded as JPEG without EXIF
(GPS included), resized, with a thumbnail; stored under UPLOAD_DIR/photos."""

import secrets
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from portal.errors import PortalError, ValidationFailed

ACCEPTED = ("JPEG", "PNG", "WEBP")
THUMB_SIDE = 360
KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class PhotoTooLarge(PortalError):
    status = 413
    code = "photo_too_large"


@dataclass
class Photo:
    key: str
    width: int
    height: int
    image: bytes
    thumbnail: bytes


def photo_dir() -> Path:
    base = (
        current_app.config.get("UPLOAD_DIR")
        or Path(current_app.instance_path) / "uploads"
    )
    folder = Path(base) / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _incomplete(field: str) -> ValidationFailed:
    return ValidationFailed(_("Send a complete JPEG, PNG or WebP photo."), field)


def _jpeg(image: Image.Image) -> bytes:
    out = BytesIO()
    # No exif= argument: nothing of the original's metadata is written.
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def _too_many_pixels(field: str) -> ValidationFailed:
    limit = current_app.config["PHOTO_MAX_PIXELS"]
    return ValidationFailed(
        _(
            "The photo has too many pixels: at most %(n)s megapixels.",
            n=format_decimal(round(limit / 1_000_000, 1)),
        ),
        field,
    )


def process(data: bytes, field: str = "photo") -> Photo:
    """Check, decode and re-encode an uploaded photo.

    :raises PhotoTooLarge: over PHOTO_MAX_BYTES.
    :raises ValidationFailed: over PHOTO_MAX_PIXELS (read from the header, before
        anything is decoded), or not a complete JPEG, PNG or WebP image.
    """
    if len(data) > current_app.config["PHOTO_MAX_BYTES"]:
        raise PhotoTooLarge(_("A photo can be at most 10 MB."), field)
    try:
        # Image.open reads the header only. Pillow's own bomb check runs in it: its
        # error, and its warning when warnings are errors, mean too many pixels too.
        # (No warnings.catch_warnings here: it changes every thread's filters.)
        original = Image.open(BytesIO(data), formats=ACCEPTED)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(field) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise _incomplete(field) from None
    with original:
        if original.width * original.height > current_app.config["PHOTO_MAX_PIXELS"]:
            raise _too_many_pixels(field)
        try:
            original.load()  # a truncated file fails here, not later
            image = ImageOps.exif_transpose(original).convert("RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(field) from None  # a frame larger than the header
        except (UnidentifiedImageError, OSError, ValueError, EOFError):
            raise _incomplete(field) from None
    side = current_app.config["PHOTO_MAX_SIDE"]
    image.thumbnail((side, side))
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    key = "".join(secrets.choice(KEY_ALPHABET) for _ in range(24))
    return Photo(key, image.width, image.height, _jpeg(image), _jpeg(thumb))


def save(photo: Photo) -> None:
    folder = photo_dir()
    (folder / f"{photo.key}.jpg").write_bytes(photo.image)
    (folder / f"{photo.key}.thumb.jpg").write_bytes(photo.thumbnail)


def discard(photo: Photo) -> None:
    folder = photo_dir()
    for name in (f"{photo.key}.jpg", f"{photo.key}.thumb.jpg"):
        (folder / name).unlink(missing_ok=True)
