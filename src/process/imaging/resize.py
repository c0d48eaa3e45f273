"""Output sizes and high-quality downscaling."""

import math
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from PIL import Image

from . import orient

# A resampled result at least this many times the target's long edge can stand in for the full-size
# source, and a JPEG may be decoded at a reduced scale down to it, without a visible difference; libvips
# leaves the same factor after its shrink-on-load. On 12 real photos, luma SSIM of a 1/2 or 1/4
# DCT-domain decode resized with Lanczos against one Lanczos resize from the full decode: 0.996 at worst
# with headroom 2, 0.981 with 1.25, 0.969 with 1.1 (a draft straight to the target is worse still).
HEADROOM = 2

# Pillow first box-reduces by whole factors up to ratio / REDUCING_GAP (a memory-speed pass), then
# resamples the rest. At 2 the result stays above 0.996 SSIM against a plain Lanczos resize.
REDUCING_GAP = 2.0

# Pillow's resampling is scalar C, about 1 ns per tap, band and output pixel of each pass: the step from
# a 12-megapixel photo to 2048 px is the largest single cost. Steps that read more than this many pixels
# (from the photo, and from a 2048 px variant) use bicubic: 4 lobes rather than Lanczos' 6, two thirds
# of the taps. On real photos at a 12 MP photo's ratios, luma SSIM against one Lanczos resize from the
# full image: 0.995 at worst for the first step, 0.994 for the next from it. Smaller steps keep Lanczos.
BICUBIC_ABOVE = 2_000_000

# Chroma (see planar.py) is stored at half resolution and blurred by every viewer's upsampling. Taken
# from a large image it is box-reduced by the whole factor, then resampled bilinearly (a 2560 px photo's
# chroma to 1024 px: 22 ms rather than 42 with bilinear alone); smaller chroma steps cost a few ms and are
# resampled as luma is, which keeps the thumbnails' colour as the slow path has it.
CHROMA_REDUCING_GAP = 1.0


class Resizable(Protocol):
    size: tuple[int, int]


Picture = TypeVar("Picture", bound=Resizable)


def fit(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """The size with the given long edge and the same aspect, never larger than size."""
    width, height = size
    longest = max(width, height)
    if longest <= long_edge:
        return size
    scale = long_edge / longest
    if width >= height:
        return long_edge, max(1, round(height * scale))
    return max(1, round(width * scale)), long_edge


def draft_size(size: tuple[int, int], long_edge: int) -> tuple[int, int] | None:
    """The smallest decode size that keeps HEADROOM over long_edge, or None when that is the full size."""
    scale = HEADROOM * long_edge / max(size)
    if scale >= 1:
        return None
    return math.ceil(size[0] * scale), math.ceil(size[1] * scale)


def resample(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize an image to size; one already at size is returned as it is."""
    if im.size == size:
        return im
    large = im.width * im.height > BICUBIC_ABOVE
    method = Image.Resampling.BICUBIC if large else Image.Resampling.LANCZOS
    return im.resize(size, method, reducing_gap=REDUCING_GAP)


def resample_chroma(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize chroma (or an image only its chroma is taken from) to size."""
    if im.size == size or im.width * im.height <= BICUBIC_ABOVE:
        return resample(im, size)
    return im.resize(size, Image.Resampling.BILINEAR, reducing_gap=CHROMA_REDUCING_GAP)


def parent(size: tuple[int, int], candidates: Iterable[Picture]) -> Picture | None:
    """The smallest candidate with HEADROOM over size, to resize from instead of the source."""
    usable = [im for im in candidates if max(im.size) >= HEADROOM * max(size)]
    return min(usable, key=lambda im: max(im.size), default=None)


def cascade(
    base: Picture,
    sizes: Iterable[tuple[int, int]],
    orientation: int,
    shrink: Callable[[Picture, tuple[int, int]], Picture],
    finish: Callable[[Picture], Picture],
) -> dict[tuple[int, int], Picture]:
    """Each displayed size, shrunk from the smallest earlier result with headroom, else from base.

    base is in stored orientation; finish (orientation, then colour conversion) runs after the first
    shrink, on far fewer pixels, and every later size is shrunk from an already finished result.
    """
    done: dict[tuple[int, int], Picture] = {}
    for size in sorted(set(sizes), key=max, reverse=True):
        source = parent(size, done.values())
        if source is not None:
            done[size] = shrink(source, size)
        else:
            done[size] = finish(shrink(base, orient.oriented(size, orientation)))
    return done
