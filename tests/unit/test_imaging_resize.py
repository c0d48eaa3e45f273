"""Variant sizes, and resampling quality against a slow full-resolution reference."""

import io

import numpy as np
import pytest
from imaging import Recipe, VariantSpec, build_variants, resize
from imaging import decode as decode_module
from imaging_fixtures import big_photo_jpeg, decode, encode, luma, photo, recipe
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


def _reference(full: Image.Image, size: tuple[int, int]) -> Image.Image:
    return full.resize(size, Image.Resampling.LANCZOS)


@pytest.mark.parametrize(
    "edges",
    [(2048, 1024, 512, 256), (1600, 800, 320, 150), (800, 300, 64)],
    ids=["2048-chain", "uneven-chain", "reduced-jpeg-decode"],
)
def test_every_variant_matches_a_single_full_resolution_lanczos_resize(edges):
    data = big_photo_jpeg()
    full = decode(data)
    result = build_variants(data, recipe(*edges, output_format="png"))
    for variant in result.variants:
        out = decode(variant.data)
        ours, reference = luma(out), luma(_reference(full, out.size))
        # SSIM of a 2048 px pair takes a second; identical pixels need no score.
        score = 1.0 if np.array_equal(ours, reference) else structural_similarity(ours, reference, data_range=255)
        assert score >= 0.98, (variant.name, score)


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
