"""Animated GIF and WebP keep frames, durations and loop where the output can hold them."""

import numpy as np
import pytest
from imaging import build_variants
from imaging_fixtures import FRAME_COLOURS, FRAME_DURATIONS, animated, decode, recipe
from PIL import ImageSequence


def _frames(data: bytes):
    im = decode(data)
    frames, durations = [], []
    for frame in ImageSequence.Iterator(im):
        frame.load()
        durations.append(frame.info.get("duration"))
        frames.append(frame.convert("RGBA"))
    return im, frames, durations


def _square_colour(frame, index: int):
    # The square of frame i sits at x = 4 + i * width / 4 (scaled), half-way down.
    width, height = frame.size
    x = int((4 + index * 20 + 10) * width / 80)
    return frame.getpixel((x, height // 2))


def _near(pixel, colour, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


@pytest.mark.parametrize(
    "source, output_format, expected",
    [("GIF", "original", "GIF"), ("GIF", "webp", "WEBP"), ("WEBP", "original", "WEBP"), ("WEBP", "webp", "WEBP")],
)
@pytest.mark.parametrize("transparent", [False, True])
def test_animation_keeps_frames_durations_and_loop(source, output_format, expected, transparent):
    data = animated(source, transparent=transparent, loop=0)
    result = build_variants(data, recipe(80, 40, output_format=output_format))
    assert [(v.width, v.height) for v in result.variants] == [(80, 60), (40, 30)]
    for variant in result.variants:
        im, frames, durations = _frames(variant.data)
        assert im.format == expected and im.n_frames == 3 and im.is_animated
        assert im.size == (variant.width, variant.height)
        assert durations == list(FRAME_DURATIONS)
        assert im.info.get("loop") == 0
        for i, (frame, colour) in enumerate(zip(frames, FRAME_COLOURS, strict=True)):
            assert _near(_square_colour(frame, i), colour + (255,)), (variant.name, i)


def test_transparent_gif_frames_do_not_show_earlier_frames():
    result = build_variants(animated("GIF", transparent=True), recipe(80))
    _, frames, _ = _frames(result.variants[0].data)
    # Frame 2's square moved right; where frame 1's square was must be transparent again.
    left_of_last = frames[2].getpixel((30, 30))
    assert left_of_last[3] == 0


def test_gif_without_loop_plays_once_in_both_formats():
    data = animated("GIF", loop=None)
    gif = decode(build_variants(data, recipe(80)).variants[0].data)
    assert "loop" not in gif.info
    webp = decode(build_variants(data, recipe(80, output_format="webp")).variants[0].data)
    assert webp.info.get("loop") == 1


def test_loop_count_is_kept():
    data = animated("GIF", loop=3)
    assert decode(build_variants(data, recipe(80)).variants[0].data).info.get("loop") == 3
    assert decode(build_variants(data, recipe(80, output_format="webp")).variants[0].data).info.get("loop") == 3


@pytest.mark.parametrize("source", ["GIF", "WEBP"])
@pytest.mark.parametrize("output_format", ["jpeg", "png", "avif"])
def test_still_formats_get_the_first_frame(source, output_format):
    result = build_variants(animated(source), recipe(80, output_format=output_format))
    im = decode(result.variants[0].data)
    assert getattr(im, "n_frames", 1) == 1
    assert _near(_square_colour(im.convert("RGBA"), 0), FRAME_COLOURS[0] + (255,))
    assert not _near(_square_colour(im.convert("RGBA"), 2), FRAME_COLOURS[2] + (255,))


def test_filters_apply_to_every_frame():
    result = build_variants(animated("GIF"), recipe(80, filters=("invert",)))
    _, frames, _ = _frames(result.variants[0].data)
    for i, frame in enumerate(frames):
        expected = tuple(255 - c for c in FRAME_COLOURS[i]) + (255,)
        assert _near(_square_colour(frame, i), expected)


def test_placeholder_comes_from_the_first_frame():
    first = build_variants(animated("GIF"), recipe(80)).placeholder
    still = build_variants(animated("GIF"), recipe(80, output_format="png")).placeholder
    assert first == still


def test_single_frame_gif_stays_a_still_gif():
    data = animated("GIF", count=1)
    result = build_variants(data, recipe(40))
    im = decode(result.variants[0].data)
    assert (im.format, im.size, getattr(im, "n_frames", 1)) == ("GIF", (40, 30), 1)
    assert np.asarray(im.convert("RGB")).std() > 10
