"""Output format choice, encoder identity, and byte-identical reprocessing."""

import numpy as np
import pytest
from imaging import build_variants
from imaging_fixtures import animated, decode, encode, heic, photo, recipe
from PIL import Image, JpegImagePlugin

PICTURE = photo(120, 90, seed=31)
RGBA = PICTURE.convert("RGBA")
RGBA.putalpha(Image.linear_gradient("L").resize(RGBA.size))

EXPECTED = {
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "png": ("PNG", "image/png", "png"),
    "webp": ("WEBP", "image/webp", "webp"),
    "avif": ("AVIF", "image/avif", "avif"),
    "gif": ("GIF", "image/gif", "gif"),
}


@pytest.mark.parametrize(
    "fmt, image, expected",
    [
        ("JPEG", PICTURE, "jpeg"),
        ("PNG", PICTURE, "png"),
        ("PNG", RGBA, "png"),
        ("WEBP", PICTURE, "webp"),
        ("GIF", PICTURE, "gif"),
        ("TIFF", PICTURE, "jpeg"),
        ("TIFF", RGBA, "png"),
        ("BMP", PICTURE, "jpeg"),
        ("AVIF", PICTURE, "jpeg"),
        ("AVIF", RGBA, "png"),
        ("HEIF", PICTURE, "jpeg"),
        ("HEIF", RGBA, "png"),
    ],
)
def test_original_keeps_web_formats_and_falls_back_to_jpeg_or_png(fmt, image, expected):
    variant = build_variants(encode(image, fmt), recipe(60)).variants[0]
    writer, content_type, extension = EXPECTED[expected]
    assert (variant.format, variant.content_type, variant.extension) == (expected, content_type, extension)
    assert decode(variant.data).format == writer


def test_opaque_alpha_channel_does_not_force_png():
    opaque = PICTURE.convert("RGBA")
    assert build_variants(encode(opaque, "TIFF"), recipe(60)).variants[0].format == "jpeg"


@pytest.mark.parametrize("output_format", ["jpeg", "png", "webp", "avif"])
def test_explicit_output_format_is_used_for_any_source(output_format):
    for source in (encode(PICTURE, "JPEG"), encode(RGBA, "PNG"), encode(PICTURE, "GIF")):
        variant = build_variants(source, recipe(60, output_format=output_format)).variants[0]
        assert variant.format == output_format
        assert decode(variant.data).format == EXPECTED[output_format][0]


@pytest.mark.parametrize("fmt, image, expected", [
    ("JPEG", PICTURE, "jpeg"), ("WEBP", PICTURE, "jpeg"), ("GIF", PICTURE, "jpeg"), ("PNG", PICTURE, "jpeg"),
    ("PNG", RGBA, "png"), ("WEBP", RGBA, "png"), ("AVIF", RGBA, "png"), ("TIFF", PICTURE.convert("RGBA"), "jpeg"),
])
def test_fallback_is_jpeg_or_png_for_transparency_whatever_the_source(fmt, image, expected):
    variant = build_variants(encode(image, fmt), recipe(60, output_format="fallback")).variants[0]
    assert variant.format == expected
    assert decode(variant.data).format == EXPECTED[expected][0]


def test_quality_changes_lossy_output_size():
    source = encode(PICTURE, "PNG")
    for output_format in ("jpeg", "webp", "avif"):
        low = build_variants(source, recipe(120, output_format=output_format, quality=20)).variants[0].data
        high = build_variants(source, recipe(120, output_format=output_format, quality=95)).variants[0].data
        assert len(low) < len(high), output_format


def test_jpeg_output_is_baseline_4_2_0_with_optimised_huffman_tables():
    # Progressive took 3-5x the encoding time for 2-6% fewer bytes; optimised tables about 1.5x for 3-5%
    # (bench/bench_processing.py --encoders). 4:2:0 is what planar.Planes are built for.
    data = build_variants(encode(PICTURE, "PNG"), recipe(120, output_format="jpeg")).variants[0].data
    out = decode(data)
    assert not (out.info.get("progressive") or out.info.get("progression"))
    assert JpegImagePlugin.get_sampling(out) == 2
    standard = encode(out, "JPEG", subsampling="4:2:0", qtables=out.quantization)
    assert len(data) < len(standard)


@pytest.mark.parametrize(
    "source",
    [
        encode(PICTURE, "JPEG"),
        encode(RGBA, "PNG"),
        encode(PICTURE, "HEIF"),
        animated("GIF", transparent=True),
        animated("WEBP"),
    ],
    ids=["jpeg", "png-alpha", "heif", "gif-animated", "webp-animated"],
)
@pytest.mark.parametrize("output_format", ["original", "jpeg", "png", "webp", "avif"])
def test_reprocessing_is_byte_identical(source, output_format):
    rec = recipe(100, 40, output_format=output_format, filters=("sharpen",))
    first, second = build_variants(source, rec), build_variants(source, rec)
    assert first == second


# Two threads: the JPEG's luma and chroma passes at once, libheif's tiles in parallel, the variants encoded
# side by side. The bytes must not depend on it; libaom's choices do a little, so AVIF is compared decoded.
@pytest.mark.parametrize("source", ["jpeg", "heic"])
@pytest.mark.parametrize("output_format", ["jpeg", "webp", "avif"])
def test_two_threads_make_the_same_variants_as_one(source, output_format):
    picture = photo(1800, 1200, seed=12)
    data = encode(picture, "JPEG", quality=90) if source == "jpeg" else heic(picture, tile=512)
    one, two = (
        build_variants(data, recipe(800, 300, 64, output_format=output_format, threads=threads))
        for threads in (1, 2)
    )
    for a, b in zip(one.variants, two.variants, strict=True):
        if output_format == "avif":
            difference = np.asarray(decode(a.data), dtype=float) - np.asarray(decode(b.data), dtype=float)
            assert np.abs(difference).mean() < 0.5
        else:
            assert a.data == b.data


def test_avif_is_encoded_faster_up_to_the_sizes_the_edge_renders(monkeypatch):
    # A render at 640 px has a person waiting (docs/performance.md): speed 9 there, 8 for larger variants.
    data = encode(photo(2400, 1600, seed=3), "JPEG")
    speeds = {}
    real = Image.Image.save

    def spy(im, fp, format=None, **params):
        speeds[im.size] = params.get("speed")
        return real(im, fp, format, **params)

    monkeypatch.setattr(Image.Image, "save", spy)
    result = build_variants(data, recipe(2048, 1280, 640, output_format="avif"))
    assert [(v.width, v.height) for v in result.variants] == [(2048, 1365), (1280, 853), (640, 427)]
    assert speeds == {(2048, 1365): 8, (1280, 853): 9, (640, 427): 9}
