"""Accepted inputs, refused inputs, and the limits checked before decoding."""

import random
import time

import imaging
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imaging import CorruptImage, ImageRejected, ImageTooLarge, UnsupportedImage, build_variants
from imaging.decode import megapixels
from imaging_fixtures import (
    XMP,
    animated,
    decode,
    encode,
    exif,
    gif_with_huge_frame,
    jpeg_claiming,
    only,
    photo,
    png_claiming,
    recipe,
    swapped_primaries_profile,
)
from PIL import Image, ImageFile

PHOTO = photo(96, 64, seed=1)

_FUZZ_SOURCES = {
    fmt: encode(photo(40, 30, seed=4), fmt) for fmt in ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF"]
}
_FUZZ_SOURCES["JPEG+metadata"] = encode(
    photo(40, 30, seed=4),
    "JPEG",
    exif=exif(orientation=6, gps=True, camera=True, other=True),
    icc_profile=swapped_primaries_profile(),
    xmp=XMP,
    comment=b"note",
)
_FUZZ_SOURCES["GIF animated"] = animated("GIF", transparent=True, size=(20, 16))


@pytest.mark.parametrize(
    "fmt, name, options",
    [
        ("JPEG", "jpeg", {}),
        ("PNG", "png", {}),
        ("WEBP", "webp", {}),
        ("GIF", "gif", {}),
        ("AVIF", "avif", {}),
        ("HEIF", "heif", {"quality": 90}),
        ("TIFF", "tiff", {}),
        ("TIFF", "tiff", {"compression": "tiff_lzw"}),
        ("BMP", "bmp", {}),
    ],
)
def test_accepted_formats_decode_with_their_size_and_format(fmt, name, options):
    data = encode(PHOTO, fmt, **options)
    result = build_variants(data, recipe(48))
    assert result.original == imaging.SourceInfo(width=96, height=64, format=name, bytes=len(data))
    assert (result.variants[0].width, result.variants[0].height) == (48, 32)
    out = decode(result.variants[0].data)
    assert out.size == (48, 32)

    # The picture survives every codec: compare 4x4 block averages, which grain and codec noise barely move.
    def blocks(im):
        return np.asarray(im.convert("RGB").resize((12, 8), Image.Resampling.BOX), dtype=float)

    assert np.abs(blocks(out) - blocks(PHOTO)).mean() < 6


def test_heic_round_trip_keeps_colour_and_becomes_jpeg():
    solid = Image.new("RGB", (64, 48), (200, 40, 90))
    result = build_variants(encode(solid, "HEIF", quality=95), recipe(32))
    assert result.original.format == "heif"
    out = decode(result.variants[0].data)
    assert (out.format, out.size) == ("JPEG", (32, 24))
    assert max(abs(a - b) for a, b in zip(out.getpixel((16, 12)), (200, 40, 90), strict=True)) < 8


@pytest.mark.parametrize(
    "data",
    [
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><rect width='10' height='10'/></svg>",
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
        b"",
        b"GIF",
    ],
    ids=["svg", "html", "pdf", "empty", "too-short"],
)
def test_non_images_are_unsupported(data):
    with pytest.raises(UnsupportedImage) as caught:
        build_variants(data, recipe(100))
    assert caught.value.code == "unsupported_image"
    assert "JPEG" in caught.value.message


@pytest.mark.parametrize("fmt", ["ICO", "PCX", "PPM", "TGA", "EPS", "SGI", "DDS", "QOI"])
def test_formats_pillow_knows_but_we_do_not_accept_are_unsupported(fmt):
    data = encode(PHOTO.convert("RGB"), fmt)
    with pytest.raises(UnsupportedImage):
        build_variants(data, recipe(100))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF", "HEIF"])
def test_truncated_images_are_corrupt(fmt):
    data = encode(photo(200, 150, seed=2), fmt)
    with pytest.raises(CorruptImage) as caught:
        build_variants(data[: len(data) * 2 // 3], recipe(100))
    assert caught.value.code == "corrupt_image"


def test_truncated_jpeg_is_corrupt_not_partially_decoded():
    data = encode(photo(400, 300, seed=3), "JPEG", quality=90)
    with pytest.raises(CorruptImage):
        build_variants(data[:-200], recipe(100))


def test_damaged_header_with_a_known_signature_is_corrupt():
    with pytest.raises(CorruptImage):
        build_variants(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, recipe(100))


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_refused(seed):
    with pytest.raises((UnsupportedImage, CorruptImage)):
        build_variants(random.Random(seed).randbytes(4096), recipe(100))


@settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    fmt=st.sampled_from(sorted(_FUZZ_SOURCES)),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=4),
)
def test_damaged_data_is_processed_or_rejected_never_crashes(fmt, cut, flips):
    data = bytearray(_FUZZ_SOURCES[fmt])
    for where, xor in flips:
        data[int(where * (len(data) - 1))] ^= xor
    data = bytes(data[: max(1, int(cut * len(data)))]) if cut < 1 else bytes(data)
    try:
        build_variants(data, recipe(32))
    except ImageRejected:
        pass


@pytest.fixture
def no_pixel_buffers(monkeypatch):
    """Fail the test if anything decodes pixels or allocates an image buffer."""

    def refuse(*args, **kwargs):
        raise AssertionError("pixels were allocated or decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.core, "new", refuse)
    monkeypatch.setattr(Image.core, "fill", refuse)


@pytest.mark.parametrize(
    "data",
    [png_claiming(20000, 20000), jpeg_claiming(20000, 20000), png_claiming(9000, 9000), jpeg_claiming(9000, 9000)],
    ids=["png-400MP", "jpeg-400MP", "png-81MP", "jpeg-81MP"],
)
def test_pixel_limit_is_enforced_from_the_header_before_decoding(data, no_pixel_buffers):
    start = time.perf_counter()
    with pytest.raises(ImageTooLarge) as caught:
        build_variants(data, recipe(100))
    assert time.perf_counter() - start < 0.5
    assert caught.value.code == "image_too_large"


def test_gif_frame_extent_beyond_the_canvas_is_refused_before_allocation(no_pixel_buffers):
    with pytest.raises(ImageTooLarge):
        build_variants(gif_with_huge_frame(), recipe(100))


def test_pixel_limit_message_names_size_and_limit():
    with pytest.raises(ImageTooLarge) as caught:
        build_variants(png_claiming(9000, 9000), recipe(100))
    assert "81 megapixels" in caught.value.message
    assert "the limit is 50 megapixels" in caught.value.message


def test_pixel_limit_comes_from_the_recipe():
    data = encode(photo(100, 100), "PNG")
    with pytest.raises(ImageTooLarge):
        build_variants(data, recipe(50, max_pixels=9_999))
    assert build_variants(data, recipe(50, max_pixels=10_000)).original.width == 100


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_too_many_frames_is_too_large(fmt):
    with pytest.raises(ImageTooLarge) as caught:
        build_variants(animated(fmt, count=6, size=(20, 20)), recipe(10, max_frames=5))
    assert "6 frames" in caught.value.message
    assert len(build_variants(animated(fmt, count=5, size=(20, 20)), recipe(10, max_frames=5)).variants) == 1


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_total_pixels_are_limited_to_four_times_max_pixels(fmt):
    # 10 frames of 20x20 = 4000 px; the budget is 4 * max_pixels.
    data = animated(fmt, count=10, size=(20, 20))
    with pytest.raises(ImageTooLarge):
        build_variants(data, recipe(10, max_pixels=999))
    build_variants(data, recipe(10, max_pixels=1000))


def test_multi_page_tiff_uses_the_first_page_without_a_frame_limit():
    pages = [Image.new("RGB", (30, 20), (i * 40, 0, 0)) for i in range(4)]
    data = encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    out = only(data, 30, max_frames=1)
    assert out.getpixel((5, 5))[0] < 10


@pytest.mark.parametrize(("pixels", "words"), [(900_000_000, "900 megapixels"), (50_000_000, "50 megapixels"),
                                               (12_345_678, "12.3 megapixels")])
def test_pixel_counts_read_as_people_say_them(pixels, words):
    assert megapixels(pixels) == words
