"""Photos: checked by content (JPEG, PNG or WebP), re-encoded as JPEG without EXIF
(GPS included), resized, with a thumbnail; stored under UPLOAD_DIR/photos."""

import secrets
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from portal.errors import PortalError, ValidationFailed

ACCEPTED = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding them
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


def _jpeg(image: Image.Image) -> bytes:
    out = BytesIO()
    # No exif= argument: nothing of the original's metadata is written.
    image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()


def process(data: bytes, field: str = "photo") -> Photo:
    """:raises PhotoTooLarge: over PHOTO_MAX_BYTES. :raises ValidationFailed: not a
    complete JPEG, PNG or WebP image."""
    if len(data) > current_app.config["PHOTO_MAX_BYTES"]:
        raise PhotoTooLarge(_("A photo can be at most 10 MB."), field)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            original = Image.open(BytesIO(data), formats=ACCEPTED)
        with original:
            if original.width * original.height > MAX_PIXELS:
                raise ValidationFailed(_("The photo has too many pixels."), field)
            original.load()  # a truncated file fails here, not later
            image = ImageOps.exif_transpose(original).convert("RGB")
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise ValidationFailed(
            _("Send a complete JPEG, PNG or WebP photo."), field
        ) from None
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
