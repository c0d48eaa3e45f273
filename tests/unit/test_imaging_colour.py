"""Every decoded mode and colour space becomes a sensible 8-bit sRGB (or grey) output."""

import numpy as np
import pytest
from imaging import build_variants
from imaging_fixtures import decode, encode, only, photo, recipe, swapped_primaries_profile
from PIL import Image, ImageCms


def _near(pixel, expected, tolerance=6):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_cmyk_jpeg_becomes_rgb_with_the_right_colours():
    # Pillow writes CMYK JPEG with the Adobe marker (inverted values), as Photoshop does.
    cmyk = Image.new("CMYK", (40, 20), (0, 255, 255, 0))
    cmyk.paste((255, 0, 0, 0), (20, 0, 40, 20))
    data = encode(cmyk, "JPEG", quality=95)
    assert b"Adobe" in data
    out = only(data)
    assert (out.format, out.mode) == ("JPEG", "RGB")
    assert _near(out.getpixel((5, 10)), (255, 0, 0), 12)
    assert _near(out.getpixel((35, 10)), (0, 255, 255), 12)


def test_cmyk_tiff_becomes_rgb():
    data = encode(Image.new("CMYK", (20, 20), (0, 0, 255, 0)), "TIFF")
    out = only(data)
    assert (out.format, out.mode) == ("JPEG", "RGB")
    assert _near(out.getpixel((10, 10)), (255, 255, 0), 12)


@pytest.mark.parametrize("output_format", ["png", "jpeg", "webp"])
def test_embedded_profile_is_converted_to_srgb_then_dropped(output_format):
    # Under the swapped-primaries profile, stored red means green.
    stored = Image.new("RGB", (32, 32), (200, 30, 30))
    data = encode(stored, "PNG", icc_profile=swapped_primaries_profile())
    result = build_variants(data, recipe(32, output_format=output_format))
    assert result.metadata_removed == ("icc_profile",)
    out = decode(result.variants[0].data).convert("RGB")
    assert not out.info.get("icc_profile")
    red, green, blue = out.getpixel((16, 16))
    assert green > 170 and red < 60 and blue < 60


@pytest.mark.parametrize("output_format", ["jpeg", "webp", "png"])
def test_embedded_profile_is_converted_when_a_large_jpeg_shrinks(output_format):
    # Shrinking 8x: luma and DCT-scaled chroma planes for jpeg and webp, full RGB for png.
    stored = Image.new("RGB", (512, 384), (200, 30, 30))
    data = encode(stored, "JPEG", quality=95, icc_profile=swapped_primaries_profile())
    result = build_variants(data, recipe(64, output_format=output_format))
    assert result.metadata_removed == ("icc_profile",)
    out = decode(result.variants[0].data).convert("RGB")
    red, green, blue = out.getpixel((32, 24))
    assert green > 170 and red < 60 and blue < 60


@pytest.mark.parametrize("output_format", ["jpeg", "webp", "avif", "png"])
def test_colours_survive_shrinking_a_jpeg(output_format):
    colours = [(230, 20, 20), (20, 200, 20), (30, 40, 220), (240, 220, 30)]
    stored = Image.new("RGB", (800, 600))
    for i, colour in enumerate(colours):
        stored.paste(colour, (i * 200, 0, i * 200 + 200, 600))
    out = only(encode(stored, "JPEG", quality=95), 200, output_format=output_format).convert("RGB")
    for i, colour in enumerate(colours):
        assert _near(out.getpixel((i * 50 + 25, 75)), colour, 8), (i, out.getpixel((i * 50 + 25, 75)))


def test_embedded_profile_conversion_keeps_alpha():
    stored = Image.new("RGBA", (16, 16), (200, 30, 30, 90))
    data = encode(stored, "PNG", icc_profile=swapped_primaries_profile())
    out = only(data)
    assert out.mode == "RGBA"
    red, green, _, alpha = out.getpixel((8, 8))
    assert alpha == 90 and green > 170 and red < 60


def test_srgb_profile_leaves_colours_alone():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture = photo(64, 48, seed=3)
    out = only(encode(picture, "PNG", icc_profile=srgb))
    assert out.tobytes() == picture.tobytes()


def test_cmyk_jpeg_with_embedded_rgb_profile_ignores_the_mismatched_profile():
    data = encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG", icc_profile=swapped_primaries_profile())
    result = build_variants(data, recipe(20))
    assert result.metadata_removed == ("icc_profile",)
    assert _near(decode(result.variants[0].data).getpixel((10, 10)), (255, 0, 0), 12)


def test_16_bit_grey_png_is_scaled_not_clipped():
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (8, 1))
    data = encode(Image.fromarray(ramp), "PNG")
    assert decode(data).mode == "I;16"
    out = only(data, output_format="png")
    assert out.mode == "L"
    row = np.asarray(out)[4]
    assert row[0] == 0 and row[-1] == 255
    assert abs(int(row[128]) - 128) <= 1
    assert np.all(np.diff(row.astype(int)) >= 0)


def test_32_bit_integer_and_float_tiffs_become_grey():
    ints = Image.fromarray(np.full((10, 10), 40000, dtype=np.int32))
    assert only(encode(ints, "TIFF"), output_format="png").getpixel((5, 5)) == round(40000 / 257)
    small_ints = Image.fromarray(np.full((10, 10), 200, dtype=np.int32))
    assert only(encode(small_ints, "TIFF"), output_format="png").getpixel((5, 5)) == 200
    unit = Image.fromarray(np.full((10, 10), 0.5, dtype=np.float32))
    assert only(encode(unit, "TIFF"), output_format="png").getpixel((5, 5)) == 128
    wide = Image.fromarray(np.full((10, 10), 300.0, dtype=np.float32))
    assert only(encode(wide, "TIFF"), output_format="png").getpixel((5, 5)) == 255


def test_palette_png_with_transparency_keeps_alpha():
    palette = Image.new("P", (20, 10), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (10, 0, 20, 10))
    data = encode(palette, "PNG", transparency=0)
    out = only(data)
    assert (out.format, out.mode) == ("PNG", "RGBA")
    assert out.getpixel((2, 5))[3] == 0
    assert out.getpixel((15, 5)) == (0, 0, 255, 255)


def test_palette_png_with_transparency_to_jpeg_is_flattened_on_white():
    palette = Image.new("P", (20, 10), 0)
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (10, 0, 20, 10))
    out = only(encode(palette, "PNG", transparency=0), output_format="jpeg")
    assert out.mode == "RGB"
    assert _near(out.getpixel((2, 5)), (255, 255, 255))
    assert _near(out.getpixel((16, 5)), (0, 0, 255), 20)


def test_palette_without_transparency_becomes_rgb():
    palette = photo(40, 30).convert("P", palette=Image.Palette.ADAPTIVE)
    out = only(encode(palette, "PNG"))
    assert (out.format, out.mode) == ("PNG", "RGB")


def test_grey_with_alpha_keeps_both():
    la = Image.merge("LA", (Image.new("L", (10, 10), 100), Image.linear_gradient("L").resize((10, 10))))
    out = only(encode(la, "PNG"))
    assert out.mode == "LA"
    assert out.getpixel((5, 0))[0] == 100 and out.getpixel((5, 0))[1] < 20 and out.getpixel((5, 9))[1] > 230
    webp = only(encode(la, "PNG"), output_format="webp")
    assert webp.mode == "RGBA" and webp.getpixel((5, 9))[3] > 230


@pytest.mark.parametrize("mode, value", [("1", 255), ("L", 77)])
def test_bilevel_and_grey_stay_grey(mode, value):
    out = only(encode(Image.new(mode, (10, 10), value), "PNG"))
    assert out.mode == "L" and out.getpixel((5, 5)) == value


def test_grey_png_with_transparent_key_gains_alpha():
    data = encode(Image.new("L", (10, 10), 7), "PNG", transparency=7)
    out = only(data)
    assert out.mode == "LA" and out.getpixel((5, 5)) == (7, 0)


def test_rgba_to_jpeg_is_flattened_on_white():
    rgba = Image.new("RGBA", (20, 10), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 128), (10, 0, 20, 10))
    out = only(encode(rgba, "PNG"), output_format="jpeg")
    assert out.mode == "RGB"
    assert _near(out.getpixel((3, 5)), (255, 255, 255), 3)
    assert _near(out.getpixel((16, 5)), (127, 127, 127), 4)


@pytest.mark.parametrize("output_format, alpha", [("png", True), ("webp", True), ("avif", True), ("jpeg", False)])
def test_alpha_is_kept_where_the_format_can_hold_it(output_format, alpha):
    rgba = Image.new("RGBA", (20, 20), (10, 200, 10, 255))
    rgba.paste((10, 200, 10, 0), (0, 0, 10, 20))
    out = only(encode(rgba, "PNG"), output_format=output_format).convert("RGBA")
    assert (out.getpixel((3, 10))[3] < 10) is alpha
    assert out.getpixel((16, 10))[3] > 245
