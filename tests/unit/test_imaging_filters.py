"""Each filter changes the pixels in its own recognisable way, after resizing, in order."""

import numpy as np
import pytest
from imaging import FILTERS, build_variants
from imaging_fixtures import decode, encode, photo, recipe
from PIL import Image, ImageDraw, ImageFilter

PICTURE = photo(240, 160, seed=21)
SOURCE = encode(PICTURE, "PNG")


def _run(filters, source=SOURCE, edge=120, output_format="png") -> Image.Image:
    return decode(build_variants(source, recipe(edge, filters=filters, output_format=output_format)).variants[0].data)


def _pixels(im) -> np.ndarray:
    return np.asarray(im, dtype=np.int16)


PLAIN = _run(())


def test_grayscale_makes_channels_equal():
    out = _run(("grayscale",)).convert("RGB")
    r, g, b = (_pixels(out)[..., i] for i in range(3))
    assert np.array_equal(r, g) and np.array_equal(g, b)
    assert _run(("grayscale",), output_format="jpeg").mode == "L"


def test_invert_is_255_minus_each_channel():
    assert np.array_equal(_pixels(_run(("invert",))), 255 - _pixels(PLAIN))


def test_sepia_is_warm_and_keeps_brightness_order():
    out = _pixels(_run(("sepia",)))
    assert np.all(out[..., 0] >= out[..., 1]) and np.all(out[..., 1] >= out[..., 2])
    grey = _pixels(PLAIN.convert("L"))
    assert np.corrcoef(grey.ravel(), out[..., 2].ravel())[0, 1] > 0.95


def _detail(im) -> float:
    return float(np.abs(_pixels(im.convert("L").filter(ImageFilter.FIND_EDGES))).mean())


def test_blur_removes_detail_and_sharpen_adds_it():
    assert _detail(_run(("blur",))) < 0.6 * _detail(PLAIN)
    assert _detail(_run(("sharpen",))) > 1.2 * _detail(PLAIN)


FLAT = encode(Image.new("RGB", (60, 60), (90, 140, 200)), "PNG")


def test_edge_turns_flat_areas_black():
    interior = _pixels(_run(("edge",), FLAT, 60))[5:-5, 5:-5]
    assert interior.max() == 0


def test_contour_turns_flat_areas_white_and_edges_dark():
    square = Image.new("RGB", (60, 60), "white")
    ImageDraw.Draw(square).rectangle((20, 20, 40, 40), fill="black")
    out = _pixels(_run(("contour",), encode(square, "PNG"), 60).convert("L"))
    assert out[5:15, 5:15].min() == 255
    assert out[19:22, 25:35].min() < 100


def test_emboss_turns_flat_areas_mid_grey():
    interior = _pixels(_run(("emboss",), FLAT, 60))[5:-5, 5:-5]
    assert np.all(np.abs(interior - 128) <= 1)


def test_autocontrast_stretches_to_the_full_range():
    dull = Image.linear_gradient("L").resize((64, 64)).point(lambda v: 100 + v // 5).convert("RGB")
    out = _pixels(_run(("autocontrast",), encode(dull, "PNG"), 64))
    assert out.min() == 0 and out.max() == 255


def test_filters_apply_in_the_given_order():
    assert not np.array_equal(_pixels(_run(("sepia", "invert"))), _pixels(_run(("invert", "sepia"))))
    expected = Image.eval(PLAIN, lambda v: 255 - v).convert(
        "RGB", (0.393, 0.769, 0.189, 0, 0.349, 0.686, 0.168, 0, 0.272, 0.534, 0.131, 0)
    )
    assert np.abs(_pixels(_run(("invert", "sepia"))) - _pixels(expected)).max() <= 1


def test_filters_run_after_resizing():
    blurred_variant = PLAIN.filter(ImageFilter.GaussianBlur(2))
    assert np.array_equal(_pixels(_run(("blur",))), _pixels(blurred_variant))


_RGBA = PICTURE.convert("RGBA")
_RGBA.putalpha(Image.linear_gradient("L").resize(_RGBA.size))
RGBA_SOURCE = encode(_RGBA, "PNG")
PLAIN_ALPHA = _run((), RGBA_SOURCE).getchannel("A")


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_keeps_size_and_leaves_alpha_untouched(name):
    out = _run((name,), RGBA_SOURCE)
    assert out.size == (120, 80)
    assert out.mode in ("RGBA", "LA")
    assert np.array_equal(_pixels(out.getchannel("A")), _pixels(PLAIN_ALPHA))


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_works_on_grey_input(name):
    out = _run((name,), encode(PICTURE.convert("L"), "PNG"))
    assert out.size == (120, 80)


@pytest.mark.parametrize("output_format", ["jpeg", "webp", "avif"])
def test_filters_with_lossy_outputs(output_format):
    out = _run(("invert",), output_format=output_format).convert("RGB")
    assert np.abs(_pixels(out).astype(float) - (255 - _pixels(PLAIN))).mean() < 12
