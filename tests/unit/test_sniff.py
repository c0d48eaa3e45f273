import io

import pillow_heif
import pytest
from imageservice.sniff import IMAGE_CONTENT_TYPES, sniff_image_type
from PIL import Image


def encoded(fmt: str, mode: str = "RGB", **params) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (8, 6), "teal").save(buffer, fmt, **params)
    return buffer.getvalue()


def heic() -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (16, 16), "teal")).save(buffer, quality=50)
    return buffer.getvalue()


@pytest.mark.parametrize("make, expected", [
    (lambda: encoded("JPEG"), "jpeg"),
    (lambda: encoded("PNG"), "png"),
    (lambda: encoded("GIF"), "gif"),
    (lambda: encoded("WEBP"), "webp"),
    (lambda: encoded("AVIF"), "avif"),
    (lambda: encoded("TIFF"), "tiff"),
    (lambda: encoded("BMP"), "bmp"),
    (heic, "heif"),
])
def test_every_accepted_type_is_recognised_by_its_bytes(make, expected):
    assert sniff_image_type(make()) == expected
    assert IMAGE_CONTENT_TYPES[expected].startswith("image/")


@pytest.mark.parametrize("data", [
    b"",
    b"hello, this is text pretending to be a photo.jpg",
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    b"<svg onload=alert(1)>",
    b"<!DOCTYPE html><html><body>hi</body></html>",
    b"%PDF-1.7\n",
    b"BM" + b"\x00" * 40,  # "BM" without a real DIB header
    b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom",  # an MP4 video
    b"\x00\x00\x00\xffftypheic",  # box size larger than the data
    b"RIFF\x00\x00\x00\x00WAVEfmt ",
])
def test_everything_else_is_refused(data):
    assert sniff_image_type(data) is None
