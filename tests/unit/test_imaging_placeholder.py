"""BlurHash placeholders: reference vectors, shape of the string, and cost."""

import time

import numpy as np
import pytest
from imaging import build_variants
from imaging.placeholder import blurhash
from imaging_fixtures import animated, decode, encode, photo, recipe
from PIL import Image

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def _gradient() -> Image.Image:
    y, x = np.mgrid[0:24, 0:32]
    return Image.fromarray(np.stack([x * 8, y * 10, np.where((x > 20) & (y < 10), 250, 60)], -1).astype(np.uint8))


# Expected strings computed with the reference algorithm (the `blurhash` package, 4x3 components).
@pytest.mark.parametrize(
    "image, expected",
    [
        (_gradient(), "LxH27Y2jw$X9mMWQjxf9gNfffSfk"),
        (Image.new("RGB", (20, 20), (200, 100, 50)), "L9M|T9}XfQ}X}XoKfQoKfQfQfQfQ"),
    ],
    ids=["gradient", "solid"],
)
def test_matches_reference_vectors(image, expected):
    assert blurhash(image) == expected


def _decode_dc(hash_: str) -> tuple[int, int, int]:
    value = 0
    for char in hash_[2:6]:
        value = value * 83 + BASE83.index(char)
    return value >> 16, (value >> 8) & 255, value & 255


def test_average_colour_is_encoded():
    assert _decode_dc(blurhash(Image.new("RGB", (20, 20), (200, 100, 50)))) == (200, 100, 50)


def test_transparency_is_flattened_on_white():
    clear = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    assert _decode_dc(blurhash(clear)) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
def test_result_has_the_blurhash_shape(mode):
    hash_ = blurhash(photo(300, 200).convert(mode))
    assert len(hash_) == 28  # 1 size flag + 1 max AC + 4 DC + 2 per AC component (11)
    assert hash_[0] == "L"  # (4 - 1) + (3 - 1) * 9 = 21
    assert set(hash_) <= set(BASE83)


def test_pipeline_placeholder_comes_from_the_smallest_output():
    result = build_variants(encode(photo(400, 300), "PNG"), recipe(400, 64, 200, output_format="png"))
    smallest = decode(result.variants[1].data)
    assert result.placeholder == blurhash(smallest)


def test_pipeline_placeholder_reflects_filters():
    plain = build_variants(encode(photo(200, 150), "PNG"), recipe(64)).placeholder
    inverted = build_variants(encode(photo(200, 150), "PNG"), recipe(64, filters=("invert",))).placeholder
    assert plain != inverted


def test_animated_source_has_a_placeholder():
    assert len(build_variants(animated("WEBP"), recipe(40)).placeholder) == 28


def test_costs_under_five_milliseconds_even_from_a_large_variant():
    large = photo(2048, 1536)
    # The best of several rounds: other work on the machine only ever adds time.
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(10):
            blurhash(large)
        rounds.append((time.perf_counter() - start) / 10)
    assert min(rounds) < 0.005
