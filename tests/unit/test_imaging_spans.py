"""build_variants reports its stages through the caller's span hook (tracing lives outside the core)."""

import contextlib

import pytest
from imaging import ImageRejected, build_variants
from imaging_fixtures import animated, recipe

from testkit.images import gradient_photo


def recorder():
    """A span hook that records the stages entered and left, in order."""
    events = []

    @contextlib.contextmanager
    def span(name):
        events.append(f"+{name}")
        yield
        events.append(f"-{name}")

    return span, events


@pytest.mark.parametrize("fmt, output_format", [("JPEG", "jpeg"), ("JPEG", "webp"), ("PNG", "original")],
                         ids=["jpeg-planes", "jpeg-to-webp", "png"])
def test_a_still_image_is_decoded_resized_then_encoded(fmt, output_format):
    span, events = recorder()
    build_variants(gradient_photo(fmt, 640, 480), recipe(200, 100, output_format=output_format), span=span)
    assert events == ["+decode", "-decode", "+resize", "-resize", "+encode", "-encode"]


def test_an_animation_is_one_pass_after_decoding():
    span, events = recorder()
    build_variants(animated("GIF"), recipe(80, 40), span=span)
    assert events == ["+decode", "-decode", "+animation", "-animation"]


def test_a_rejected_image_leaves_the_span_it_failed_in():
    span, events = recorder()
    with pytest.raises(ImageRejected):
        build_variants(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, recipe(100), span=span)
    assert events == ["+decode"]  # the hook's context manager saw the error (a subsegment records it)
