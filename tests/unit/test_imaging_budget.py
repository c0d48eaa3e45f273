"""Bounded work per image: the real canvas of every GIF frame, the job estimate, the deadline, streamed
animations, and JPEG data too short for its declared size."""

import gc
import io
import time
import weakref

import imaging
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imaging import ImageTooComplex, ImageTooLarge, ProcessingTimeout, animation, budget, build_variants, pipeline
from imaging_fixtures import animated, decode, encode, photo, recipe
from PIL import Image, ImageFile

from testkit.fuzz_strategies import gif_with_offset_frames, seed_image, set_declared_size, set_gif_frame_position


@pytest.fixture
def no_frame_decoded(monkeypatch):
    """Fail the test if any frame after the first is decoded or any pixel of the first is."""

    def refuse(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(animation, "frames", refuse)


def _frames_gif(count: int, size: tuple[int, int]) -> bytes:
    """count flat frames, each a different grey from the last: quick to make and decode, costly to process."""
    frames = [Image.new("P", size, i * 37 % 256) for i in range(count)]
    for frame in frames:
        frame.putpalette([v for i in range(256) for v in (i, i, i)])
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)


# ------------------------------------------------------------------ the real canvas of every frame


def test_a_gif_whose_frames_grow_the_canvas_fails_before_decoding(no_frame_decoded):
    # The GIF: the header says 100x100, 299 one-pixel frames sit at (6999, 6999); 7 KB.
    data = gif_with_offset_frames(300, header=(100, 100), at=(6999, 6999))
    started = time.monotonic()
    with pytest.raises(ImageTooLarge) as caught:
        build_variants(data, recipe(2048, 1024, 256))
    assert time.monotonic() - started < 2  # header walk only; it took 118-260 s before
    assert "7000x7000" in caught.value.message


def test_a_grown_canvas_over_the_pixel_limit_is_refused_even_for_two_frames(no_frame_decoded):
    data = gif_with_offset_frames(2, header=(100, 100), at=(3000, 3000))
    with pytest.raises(ImageTooLarge) as caught:
        build_variants(data, recipe(100, max_pixels=4_000_000))
    assert "3001x3001" in caught.value.message


def test_the_layout_is_the_canvas_and_frame_count_pillow_reaches():
    data = gif_with_offset_frames(4, header=(40, 30), at=(90, 70))
    im = Image.open(io.BytesIO(data))
    plan = animation.layout(data, im, "gif")
    for index in range(im.n_frames):
        im.seek(index)
    assert plan.frames == im.n_frames == 4
    assert plan.canvas == im.size == (91, 71)


def test_frames_outside_the_first_canvas_are_cut_off_as_browsers_do():
    data = gif_with_offset_frames(3, header=(40, 30), at=(90, 70))
    result = build_variants(data, recipe(40))
    assert (result.variants[0].width, result.variants[0].height) == (40, 30)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_layout_counts_the_frames_pillow_counts_in_damaged_gifs(data):
    source = data.draw(st.sampled_from([seed_image("gif_animated"), gif_with_offset_frames(3, (20, 10), (30, 5))]))
    position = data.draw(st.integers(0, len(source) - 1))
    mutated = source[:position] + data.draw(st.binary(min_size=0, max_size=8)) + source[position + 1:]
    try:
        im = Image.open(io.BytesIO(mutated), formats=["GIF"])
        expected = im.n_frames
    except Exception:  # noqa: BLE001 - whatever Pillow refuses, build_variants refuses as corrupt
        return
    assert animation.layout(mutated, im, "gif").frames == max(expected, 1)


# ------------------------------------------------------------------ the estimate


def test_a_job_over_the_time_it_has_is_refused_before_any_frame_is_decoded(monkeypatch):
    data = _frames_gif(60, (1000, 1000))
    decoded = []
    monkeypatch.setattr(animation, "frames", lambda *args: decoded.append(args) or iter(()))
    started = time.monotonic()
    with pytest.raises(ImageTooComplex) as caught:
        build_variants(data, recipe(2048, 1024, 256, output_format="webp", quality=100), time.monotonic() + 2)
    assert time.monotonic() - started < 2
    assert not decoded
    assert caught.value.code == "image_too_complex"
    assert "60 frames of 1000x1000" in caught.value.message


def test_the_same_job_with_time_enough_is_admitted():
    data = _frames_gif(3, (64, 64))
    result = build_variants(data, recipe(64, output_format="webp"), time.monotonic() + 30)
    assert decode(result.variants[0].data).n_frames == 3


def test_the_estimate_grows_with_every_dimension_of_the_work():
    base = budget.Job("gif", (816, 816), 300, ((816, 816), (256, 256)), "gif", 82, ())
    estimate = budget.estimate_seconds(base)
    for costlier in (
        budget.Job("gif", (816, 816), 300, ((816, 816), (256, 256)), "webp", 82, ()),
        budget.Job("gif", (816, 816), 300, ((816, 816), (256, 256)), "webp", 100, ()),
        budget.Job("gif", (816, 816), 300, ((816, 816), (256, 256)), "gif", 82, ("blur",)),
        budget.Job("gif", (1632, 1632), 300, ((816, 816), (256, 256)), "gif", 82, ()),
        budget.Job("gif", (816, 816), 301, ((816, 816), (256, 256)), "gif", 82, ()),
    ):
        assert budget.estimate_seconds(costlier) > estimate
    assert budget.estimate_seconds(budget.Job("webp", (816, 816), 300, ((816, 816),), "webp", 82, ())) \
        < budget.estimate_seconds(budget.Job("webp", (816, 816), 300, ((816, 816),), "webp", 100, ()))


def test_identical_variant_sizes_are_made_once(monkeypatch):
    """large=2048 and medium=1024 of an 816 px animation are both 816 px: one encoding serves both."""
    data = animated("GIF", size=(816, 612))
    calls = []
    real = imaging.encode.encode_animation
    monkeypatch.setattr(imaging.encode, "encode_animation", lambda *args: calls.append(args[0].size) or real(*args))
    result = build_variants(data, recipe(2048, 1024, 256))
    assert sorted(calls) == [(256, 192), (816, 612)]
    assert result.variants[0].data == result.variants[1].data


# ------------------------------------------------------------------ the deadline


def test_a_deadline_already_past_stops_before_opening_the_image(no_frame_decoded):
    with pytest.raises(ProcessingTimeout) as caught:
        build_variants(encode(photo(64, 48), "JPEG"), recipe(32), time.monotonic() - 1)
    assert caught.value.code == "processing_timeout"


def test_a_job_that_slips_past_its_estimate_stops_at_the_deadline(monkeypatch):
    monkeypatch.setattr(budget, "estimate_seconds", lambda job: 0.0)  # the estimate admits it
    drawn = []
    real = pipeline.filters.apply_filters

    def slow(im, names):
        drawn.append(im.size)
        time.sleep(0.05)
        return real(im, names)

    monkeypatch.setattr(pipeline.filters, "apply_filters", slow)
    started = time.monotonic()
    with pytest.raises(ProcessingTimeout):
        build_variants(_frames_gif(40, (32, 32)), recipe(32), time.monotonic() + 0.3)
    assert time.monotonic() - started < 1.5
    assert len(drawn) < 40  # it stopped part-way through the frames


# ------------------------------------------------------------------ streamed animations


@pytest.mark.parametrize("output_format", ["original", "webp"])
def test_an_animation_holds_a_few_frames_not_all_of_them(monkeypatch, output_format):
    alive, most = set(), [0]
    real = pipeline.filters.apply_filters

    def tracked(im, names):
        out = real(im, names).copy()
        alive.add(id(out))
        weakref.finalize(out, alive.discard, id(out))
        most[0] = max(most[0], len(alive))
        return out

    monkeypatch.setattr(pipeline.filters, "apply_filters", tracked)
    result = build_variants(_frames_gif(30, (64, 48)), recipe(64, 32, output_format=output_format))
    gc.collect()
    assert decode(result.variants[0].data).n_frames == 30
    assert most[0] <= 3  # held until encoding, it was 30 per size


# ------------------------------------------------------------------ data too short for its size


def test_a_small_jpeg_declaring_7000x7000_is_corrupt_not_grey(no_frame_decoded):
    # The case: 631 bytes declaring 7000x7000 came out `done`, grey.
    data = set_declared_size(encode(photo(64, 48), "JPEG", quality=80), 7000, 7000)
    with pytest.raises(imaging.CorruptImage) as caught:
        build_variants(data, recipe(256))
    assert "7000x7000" in caught.value.message


def test_comments_padding_a_short_scan_do_not_count_as_image_data():
    short = set_declared_size(encode(photo(64, 48), "JPEG", quality=80), 2000, 2000)
    padded = short[:2] + (b"\xff\xfe\xff\xff" + b"x" * 65533) * 2 + short[2:]
    with pytest.raises(imaging.CorruptImage):
        build_variants(padded, recipe(256))


@pytest.mark.parametrize("options", [{"optimize": True}, {"progressive": True}, {"quality": 1, "optimize": True}])
@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_the_smallest_whole_jpegs_are_accepted(mode, options):
    data = encode(Image.new(mode, (2000, 1500), 128 if mode == "L" else (90, 90, 90)), "JPEG", **options)
    assert build_variants(data, recipe(64)).variants[0].width == 64


def test_a_gif_frame_moved_off_its_canvas_is_counted(no_frame_decoded):
    moved = set_gif_frame_position(seed_image("gif_animated"), 1, 2000, 2000)
    with pytest.raises(ImageTooLarge):
        build_variants(moved, recipe(256, max_pixels=1_000_000))
