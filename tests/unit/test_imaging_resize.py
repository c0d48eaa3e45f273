"""Variant sizes, and resampling quality against a slow full-resolution reference."""

import io
from functools import cache

import numpy as np
import pillow_heif
import pytest
from imaging import Recipe, VariantSpec, build_variants, resize
from imaging import decode as decode_module
from imaging_fixtures import (
    big_photo_jpeg,
    block_difference,
    decode,
    encode,
    heic,
    luma,
    phone_heic,
    photo,
    recipe,
    record_plane_path,
)
from PIL import Image
from skimage.metrics import structural_similarity


@pytest.mark.parametrize(
    "source, edge, expected",
    [
        ((300, 200), 2048, (300, 200)),
        ((300, 200), 300, (300, 200)),
        ((300, 200), 150, (150, 100)),
        ((200, 300), 150, (100, 150)),
        ((1001, 1000), 100, (100, 100)),
        ((3000, 2), 100, (100, 1)),
        ((2, 3000), 100, (1, 100)),
        ((1, 1), 10, (1, 1)),
        ((640, 480), 1, (1, 1)),
    ],
)
def test_long_edge_aspect_and_no_upscaling(source, edge, expected):
    result = build_variants(encode(Image.new("RGB", source, (90, 90, 90)), "PNG"), recipe(edge))
    variant = result.variants[0]
    assert (variant.width, variant.height) == expected
    assert decode(variant.data).size == expected


def test_variants_follow_recipe_order_and_names_whatever_the_sizes():
    specs = (VariantSpec("thumb", 50), VariantSpec("large", 400), VariantSpec("medium", 200), VariantSpec("same", 200))
    result = build_variants(encode(photo(300, 200), "JPEG"), Recipe(variants=specs))
    assert [(v.name, v.width, v.height) for v in result.variants] == [
        ("thumb", 50, 33),
        ("large", 300, 200),
        ("medium", 200, 133),
        ("same", 200, 133),
    ]
    assert result.variants[2].data == result.variants[3].data


@cache
def _full(data: bytes) -> Image.Image:
    return decode(data).convert("RGB")


@cache
def _reference_luma(data: bytes, size: tuple[int, int]) -> np.ndarray:
    """The slow way: the full decode resized once, with Lanczos, to size."""
    return luma(_full(data).resize(size, Image.Resampling.LANCZOS))


def _ssim(out: Image.Image, data: bytes) -> float:
    ours, reference = luma(out), _reference_luma(data, out.size)
    # SSIM of a 2048 px pair takes a second; identical pixels need no score.
    return 1.0 if np.array_equal(ours, reference) else structural_similarity(ours, reference, data_range=255)


@cache
def _photo_png() -> bytes:
    return encode(photo(2400, 1800, seed=5), "PNG", compress_level=1)


@cache
def _progressive_jpeg() -> bytes:
    return encode(decode(big_photo_jpeg()), "JPEG", quality=92, progressive=True)


SOURCES = {"jpeg": big_photo_jpeg, "progressive": _progressive_jpeg, "png": _photo_png}


@pytest.fixture
def planes_loads(monkeypatch):
    """Record the chroma scale of every JPEG decoded as full-size luma plus DCT-scaled chroma."""
    calls = []
    real = decode_module.load_planes

    def spy(data, im, scale, threads):
        calls.append(scale)
        return real(data, im, scale, threads)

    monkeypatch.setattr(decode_module, "load_planes", spy)
    return calls


# Quality 100 leaves the codec's loss negligible, so what is scored is the resampling. The ids name the
# path: a baseline 4000x3000 JPEG to 2048 or 1600 px decodes luma in full and chroma at 1/4, to 2400 px
# chroma at 1/2 (1/4 falls short of 1200 px); to 800 px it is decoded once at 1/2 (the DCT-domain draft)
# as YCbCr and split into planes in memory, as a progressive JPEG is; a PNG source to JPEG is split from
# RGB; PNG output keeps full-resolution RGB.
@pytest.mark.parametrize(
    "source, edges, output_format, planes",
    [
        ("jpeg", (2048, 1024, 512, 256), "jpeg", [4]),
        ("jpeg", (1600, 800, 320, 150), "jpeg", [4]),
        ("jpeg", (2400, 1200, 300), "jpeg", [2]),
        ("jpeg", (800, 300, 64), "jpeg", []),
        ("jpeg", (2048, 1024, 256), "png", []),
        ("jpeg", (800, 300, 64), "png", []),
        ("progressive", (2048, 1024, 256), "jpeg", []),
        ("png", (1100, 550, 100), "jpeg", []),
    ],
    ids=[
        "planes-2048-chain",
        "planes-uneven-chain",
        "planes-half-chroma",
        "split-dct-draft",
        "rgb-2048-chain",
        "rgb-dct-draft",
        "split-progressive",
        "png-split",
    ],
)
def test_every_variant_matches_a_single_full_resolution_lanczos_resize(
    source, edges, output_format, planes, planes_loads
):
    data = SOURCES[source]()
    result = build_variants(data, recipe(*edges, output_format=output_format, quality=100))
    assert planes_loads == planes
    for variant in result.variants:
        score = _ssim(decode(variant.data), data)
        assert score >= 0.98, (variant.name, score)


@pytest.mark.parametrize("source, edge", [("progressive", 2048), ("jpeg", 800)])
def test_jpeg_decoded_once_is_decoded_as_ycbcr_and_split(source, edge, monkeypatch):
    # No colour conversion in libjpeg, no RGB-to-luma pass and no resize of full-size RGB for chroma.
    modes = []
    real = decode_module.load_ycbcr

    def spy(data, im, draft_size):
        decoded = real(data, im, draft_size)
        modes.append(decoded.mode)
        return decoded

    monkeypatch.setattr(decode_module, "load_ycbcr", spy)
    data = SOURCES[source]()
    out = decode(build_variants(data, recipe(edge, quality=100)).variants[0].data).convert("RGB")
    assert modes == ["YCbCr"]
    assert block_difference(out, _full(data).resize(out.size, Image.Resampling.LANCZOS)) < 1.5


@pytest.fixture
def heif_planes(monkeypatch):
    """Record whether each HEIC decoded as planes came back as planes (False: decoded through Pillow)."""
    return record_plane_path(monkeypatch)


# Phone photos: a 12 MP HEIC in 512 px tiles, 8-bit decoded by libheif straight to luma and half-size chroma,
# 10-bit through pillow-heif's RGB decode (test_imaging_heic_paths has the whole matrix); the reference is the
# slow path from pillow-heif's RGB decode.
@pytest.mark.parametrize("bits", [8, 10])
# The full-size recipe takes seconds per case (the SSIM reference is a full 12 MP decode): `make check` leaves
# it to `make test`; the smaller recipe runs the same plane path in every tier.
@pytest.mark.parametrize("edges", [pytest.param((2048, 1024, 256), marks=pytest.mark.slow), (1000, 300)])
def test_heic_variants_match_a_single_full_resolution_lanczos_resize(bits, edges, heif_planes):
    data = phone_heic(bits)
    assert pillow_heif.open_heif(io.BytesIO(data)).info["tiling"]["tile_width"] == 512
    assert pillow_heif.open_heif(io.BytesIO(data)).info["bit_depth"] == bits
    result = build_variants(data, recipe(*edges, output_format="original", quality=100))
    assert heif_planes == [bits == 8]
    assert {variant.format for variant in result.variants} == {"jpeg"}
    for variant in result.variants:
        score = _ssim(decode(variant.data), data)
        assert score >= 0.98, (variant.name, score)


@pytest.mark.parametrize(
    "options, planes",
    [({}, True), ({"matrix_coefficients": 1}, False), ({"full_range_flag": 0}, False), ({"chroma": 444}, False)],
    ids=["bt601-full", "bt709", "limited-range", "444"],
)
def test_heic_planes_keep_colour_as_the_slow_path_does(options, planes, heif_planes):
    picture = photo(1200, 900, seed=4)
    data = heic(picture, **options)
    out = decode(build_variants(data, recipe(400, quality=100)).variants[0].data).convert("RGB")
    assert heif_planes == [planes]
    reference = decode(data).convert("RGB").resize(out.size, Image.Resampling.LANCZOS)
    assert block_difference(out, reference) < 1.5


def test_planes_keep_colour_as_the_slow_path_does():
    # Luma is what SSIM scores; chroma is checked on its own: 8x8 block means of every channel, which
    # codec and resampling noise barely move, against the slow path's.
    data = big_photo_jpeg()
    out = decode(build_variants(data, recipe(1024, quality=100)).variants[0].data).convert("RGB")
    reference = _full(data).resize(out.size, Image.Resampling.LANCZOS)
    assert block_difference(out, reference) < 1.5


def test_rgb_coded_jpeg_decodes_as_planes_too():
    # An Adobe JPEG that stores RGB, not YCbCr: libjpeg cannot give its chroma pass as YCbCr.
    picture = photo(1600, 1200, seed=9)
    data = encode(picture, "JPEG", quality=95, keep_rgb=True)
    assert decode(data).info.get("adobe_transform") == 0
    out = decode(build_variants(data, recipe(200, quality=100)).variants[0].data).convert("RGB")
    reference = picture.resize(out.size, Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(out, dtype=float) - np.asarray(reference, dtype=float)).mean() < 4


@pytest.mark.parametrize(
    "largest, draft, decoded",
    [
        (300, (600, 450), (1000, 750)),
        (800, (1600, 1200), (2000, 1500)),
        (1000, (2000, 1500), (2000, 1500)),
        (1024, (2048, 1536), (4000, 3000)),
        (2048, None, (4000, 3000)),
    ],
)
def test_jpeg_is_decoded_at_the_smallest_scale_keeping_twice_the_largest_variant(largest, draft, decoded):
    source = Image.open(io.BytesIO(big_photo_jpeg()))
    assert resize.draft_size(source.size, largest) == draft
    assert decode_module.load(source, draft).size == decoded
