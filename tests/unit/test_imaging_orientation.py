"""EXIF orientation is applied to every output and to the reported source size."""

import pytest
from imaging import build_variants
from imaging_fixtures import (
    BACKGROUND,
    MARKER_GREEN,
    MARKER_RED,
    decode,
    encode,
    exif,
    marked,
    recipe,
    stored_for,
)
from PIL import ImageOps


def _close(pixel, colour, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_every_orientation_displays_upright(orientation, fmt):
    upright = marked(120, 80)
    stored = stored_for(upright, orientation)
    data = encode(stored, fmt, exif=exif(orientation=orientation), quality=95)

    result = build_variants(data, recipe(4096, 60, output_format="png"))

    assert (result.original.width, result.original.height) == (120, 80)
    for variant, size in zip(result.variants, [(120, 80), (60, 40)], strict=True):
        out = decode(variant.data).convert("RGB")
        assert out.size == size == (variant.width, variant.height)
        w, h = out.size
        assert _close(out.getpixel((w // 16, h // 16)), MARKER_RED)
        assert _close(out.getpixel((w - 1 - w // 16, h // 16)), MARKER_GREEN)
        assert _close(out.getpixel((w // 16, h - 1 - h // 16)), BACKGROUND)
        assert _close(out.getpixel((w - 1 - w // 16, h - 1 - h // 16)), BACKGROUND)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("output_format", ["jpeg", "webp"])
def test_every_orientation_displays_upright_from_planes(orientation, output_format):
    # A JPEG four times the variant is decoded as luma plus 1/4-scale chroma and shrunk as planes.
    upright = marked(480, 320)
    data = encode(stored_for(upright, orientation), "JPEG", exif=exif(orientation=orientation), quality=95)
    result = build_variants(data, recipe(120, 60, output_format=output_format))
    for variant, size in zip(result.variants, [(120, 80), (60, 40)], strict=True):
        out = decode(variant.data).convert("RGB")
        assert out.size == size
        w, h = out.size
        assert _close(out.getpixel((w // 16, h // 16)), MARKER_RED)
        assert _close(out.getpixel((w - 1 - w // 16, h // 16)), MARKER_GREEN)
        assert _close(out.getpixel((w // 16, h - 1 - h // 16)), BACKGROUND)


def test_orientation_is_applied_with_reduced_scale_jpeg_decoding():
    # 1600 px source, 100 px variant: the JPEG is decoded at 1/8 scale before rotating.
    upright = marked(1600, 1200)
    data = encode(stored_for(upright, 6), "JPEG", exif=exif(orientation=6), quality=95)
    out = decode(build_variants(data, recipe(100)).variants[0].data)
    assert out.size == (100, 75)
    assert _close(out.getpixel((5, 5)), MARKER_RED)
    assert _close(out.getpixel((94, 5)), MARKER_GREEN)


@pytest.mark.parametrize("value", [0, 9, 65535])
def test_invalid_orientation_values_are_ignored(value):
    upright = marked(60, 40)
    data = encode(upright, "JPEG", exif=exif(orientation=value), quality=95)
    out = decode(build_variants(data, recipe(60)).variants[0].data)
    assert out.size == (60, 40)
    assert _close(out.getpixel((3, 3)), MARKER_RED)


def test_output_carries_no_orientation_tag():
    data = encode(stored_for(marked(60, 40), 8), "JPEG", exif=exif(orientation=8))
    out = decode(build_variants(data, recipe(60)).variants[0].data)
    assert 0x0112 not in out.getexif()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_fixture_agrees_with_pillow_reference(orientation):
    upright = marked(120, 80)
    data = encode(stored_for(upright, orientation), "PNG", exif=exif(orientation=orientation))
    assert ImageOps.exif_transpose(decode(data)).tobytes() == upright.tobytes()
