"""Photo pixel limits: read from the header and refused (422, naming the field)
before anything is decoded; Pillow's decompression-bomb checks never become a 500."""

import io
import struct
import warnings
import zlib

import pytest
from PIL import Image, ImageFile
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.cityapi import get_city_api
from portal.errors import ValidationFailed
from portal.tickets import photos
from portal.tickets.city_services import refresh_services
from tests.conftest import csrf_token


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png(width: int, height: int, pixels: bool = True) -> bytes:
    """A black 1-bit PNG, small however many pixels it claims; with
    ``pixels=False`` only its header (what Image.open reads)."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", header)]
    if pixels:
        row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the bits
        parts.append(_chunk(b"IDAT", zlib.compress(row * height, 9)))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def jpeg(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (40, 120, 40)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def never_decoded(monkeypatch):
    def refuse(self):
        raise AssertionError("the photo was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def refused(data: bytes, field: str = "photo") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        photos.process(data, field)
    assert caught.value.field == field
    return caught.value


def test_a_49_megapixel_png_is_refused_from_its_header(app, never_decoded):
    error = refused(png(7000, 7000), "before")
    assert error.status == 422
    assert error.message == "The photo has too many pixels: at most 40 megapixels."


def test_the_limit_is_a_setting(app):
    app.config["PHOTO_MAX_PIXELS"] = 64 * 48 - 1
    refused(jpeg((64, 48)))
    app.config["PHOTO_MAX_PIXELS"] = 64 * 48
    assert photos.process(jpeg((64, 48))).width == 64


def test_under_the_limit_a_large_png_still_works(app):
    photo = photos.process(png(3000, 2000))
    assert (photo.width, photo.height) == (2048, 1365)  # resized to PHOTO_MAX_SIDE


@pytest.mark.parametrize(
    "width, height",
    [
        (10_000, 10_000),  # over Pillow's MAX_IMAGE_PIXELS: its warning
        (15_000, 15_000),  # over twice that: its DecompressionBombError
    ],
)
@pytest.mark.parametrize("warnings_are", ["error", "ignore", "always"])
def test_pillows_bomb_checks_answer_the_same_422(app, width, height, warnings_are):
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter(warnings_are)
        error = refused(png(width, height, pixels=False))
    assert "too many pixels" in error.message
    # Shown, when warnings are only shown: the upload is refused all the same.
    assert {w.category for w in shown} <= {Image.DecompressionBombWarning}


# --- over HTTP ---


@pytest.fixture
def resident(app, make_area, make_user, auth):
    refresh_services(get_city_api())
    make_area("Fishtown")
    user = make_user(email="filer@example.org")
    auth.login("filer@example.org")
    return user


def file_with_photo(client, content: bytes):
    boundary, body = encode_multipart(
        {
            "service_code": "SBX-SD",
            "attribute[GAS]": "no",
            "attribute[WATER]": "no",
            "lat": "39.97",
            "lon": "-75.13",
            "photo": FileStorage(io.BytesIO(content), "big.png"),
        }
    )
    return client.post(
        "/api/v1/tickets",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"X-CSRFToken": csrf_token(client, "/tickets/new?service=SBX-SD")},
    )


@pytest.mark.parametrize(
    "content", [png(7000, 7000), png(15_000, 15_000, pixels=False)]
)
def test_filing_with_too_many_pixels_is_a_422_naming_the_photo(
    client, resident, never_decoded, content
):
    answer = file_with_photo(client, content)
    assert answer.status_code == 422, answer.data
    error = answer.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert "too many pixels" in error["fields"]["photo"]
    assert list(photos.photo_dir().iterdir()) == []
