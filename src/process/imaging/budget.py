"""The work a job will take, estimated before a pixel is decoded, and the deadline it has to meet.

The size limits bound each input, not the work: 300 frames at the frame budget, written as WebP at quality
100 through ten filters, are within every limit and take minutes. So a job is estimated from its header
(frames, decoded pixels, output sizes, filters, output format and quality) with per-pixel costs measured
on this machine, and refused when it cannot finish before the deadline; whatever slips through is stopped
at the deadline between steps.

The costs are nanoseconds per pixel, medians of CPU time measured with `.venv/bin/python
bench/bench_job_budget.py --calibrate --rounds 3` (photo-like content, one thread, Pillow 13, on a 2-core
x86-64 machine shared with other work, which makes the figures err high). A filter's or encoder's cost
is per output pixel and a decoder's per decoded pixel; an animation's per frame.
"""

import itertools
import time
from dataclasses import dataclass

from .errors import ImageTooComplex, ProcessingTimeout

Size = tuple[int, int]

# A Lambda arm64 core is taken as this much slower than the core the costs were measured on (docs/performance.md,
# memory and time at the limits: 1.2-1.5x); a job is admitted only when it fits with this margin.
SLOWER_CORE = 1.5

# Decoding, per decoded pixel, to the working mode (for an animation frame: compositing and RGBA too).
DECODE_NS = {
    "jpeg": 7.6,
    "png": 35.0,
    "webp": 38.0,  # an animation frame; a still WebP measured 22
    "gif": 22.0,  # an animation frame
    "avif": 56.0,
    "heif": 134.0,
    "tiff": 3.2,
    "bmp": 3.6,
}
# Resizing, per pixel read (to 1024 px from 1500x1000: 34; a 600x400 frame to 256 px: 40), and turning
# and converting colour, per pixel written.
RESIZE_NS = 40.0
FINISH_NS = 5.0

FILTER_NS = {
    "grayscale": 1.6,
    "sepia": 8.2,
    "blur": 64.0,
    "sharpen": 38.0,
    "contour": 39.0,
    "edge": 44.0,
    "emboss": 38.0,
    "invert": 2.4,
    "autocontrast": 5.5,
}

# Encoding, per output pixel, at quality 50, 82 and 100; between those points the cost is interpolated.
_QUALITIES = (50, 82, 100)
ENCODE_NS = {
    "jpeg": (12.4, 16.4, 34.7),
    "png": (248.0, 248.0, 262.0),
    "webp": (176.0, 192.0, 259.0),
    "avif": (600.0, 850.0, 850.0),
    "gif": (500.0, 475.0, 514.0),
}
# An animation's frames: the GIF writer quantises each frame; libwebp's animation encoder also searches
# for the sub-rectangle that changed.
ANIMATION_ENCODE_NS = {
    "gif": (51.0, 51.0, 51.0),
    "webp": (263.0, 313.0, 443.0),
}


@dataclass(frozen=True)
class Job:
    """What one build_variants call will do, known from the header."""

    source_format: str
    decoded: Size  # pixels decoded per frame: the canvas, or a JPEG's reduced decode
    frames: int  # frames written per output size (1 for a still)
    outputs: tuple[Size, ...]  # the distinct output sizes
    output_format: str
    quality: int
    filters: tuple[str, ...]

    @property
    def animated(self) -> bool:
        return self.frames > 1


def _per_quality(costs: tuple[float, float, float], quality: int) -> float:
    points = list(zip(_QUALITIES, costs, strict=True))
    if quality <= points[0][0]:
        return points[0][1]
    for (low, at_low), (high, at_high) in itertools.pairwise(points):
        if quality <= high:
            return at_low + (at_high - at_low) * (quality - low) / (high - low)
    return points[-1][1]


def estimate_seconds(job: Job) -> float:
    """The job's time on the measured core.

    A still is decoded once and each size resized from the previous one; an animation is decoded again for
    each output size (animation.encode_variants makes one size per pass over the frames).
    """
    decoded = job.decoded[0] * job.decoded[1]
    table = ANIMATION_ENCODE_NS if job.animated else ENCODE_NS
    per_output_pixel = FINISH_NS + sum(FILTER_NS[name] for name in job.filters)
    per_output_pixel += _per_quality(table[job.output_format], job.quality)
    written = sum(width * height for width, height in job.outputs) * per_output_pixel
    decoding = decoded * DECODE_NS.get(job.source_format, max(DECODE_NS.values()))
    resized = [size for size in job.outputs if size != job.decoded]
    if job.animated:
        read = len(job.outputs) * decoding + len(resized) * decoded * RESIZE_NS
    else:
        # Only the first resize reads the decoded image; the smaller ones read a variant.
        read = decoding + (decoded * RESIZE_NS if resized else 0)
    return job.frames * (read + written) / 1e9


def check_deadline(deadline: float | None) -> None:
    """Stop when the deadline (time.monotonic() seconds) has passed."""
    if deadline is not None and time.monotonic() > deadline:
        raise ProcessingTimeout(
            "Processing did not finish in the time it has. Upload a smaller image, or fewer frames, and try again."
        )


def admit(job: Job, deadline: float | None) -> None:
    """Refuse a job that cannot finish before the deadline, before any of it is done."""
    check_deadline(deadline)
    if deadline is None:
        return
    needed = estimate_seconds(job) * SLOWER_CORE
    available = deadline - time.monotonic()
    if needed > available:
        what = f"{job.frames} frames of " if job.animated else ""
        raise ImageTooComplex(
            f"Processing {what}{job.decoded[0]}x{job.decoded[1]} pixels into {job.output_format.upper()} "
            f"would take about {needed:.0f} s; {max(available, 0):.0f} s are available. Upload fewer or smaller "
            "frames, or ask for fewer filters, a lower quality or JPEG."
        )
