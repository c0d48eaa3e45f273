"""BlurHash placeholder (4x3 components) computed from a small thumbnail."""

import math
from functools import cache
from operator import mul

from PIL import Image

from .colour import flatten
from .resize import fit

_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
_X_COMPONENTS = 4
_Y_COMPONENTS = 3
# Four components across need far fewer than 32 samples per axis; the thumbnail keeps the cost tiny.
_THUMBNAIL_EDGE = 32
# Averaging every pixel of a large variant costs more than the hash itself; a point-sampled
# grid 4x the thumbnail first keeps enough samples for components this coarse.
_SAMPLE_EDGE = 4 * _THUMBNAIL_EDGE

_TO_LINEAR = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in (i / 255 for i in range(256))]


def _base83(value: int, length: int) -> str:
    """Encode an integer as fixed-width base 83."""
    return "".join(_BASE83[value // 83 ** (length - 1 - i) % 83] for i in range(length))


def _linear_to_byte(value: float) -> int:
    """A linear channel value as an sRGB byte."""
    v = min(max(value, 0.0), 1.0)
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _quantise_ac(value: float, maximum: float) -> int:
    """One AC channel as 0..18, on a square-root scale."""
    scaled = math.copysign(abs(value / maximum) ** 0.5, value)
    return max(0, min(18, math.floor(scaled * 9 + 9.5)))


@cache
def _cosines(components: int, length: int) -> tuple[tuple[float, ...], ...]:
    """The DCT basis along one axis: cos(pi * k * n / length) for each component k."""
    return tuple(tuple(math.cos(math.pi * k * n / length) for n in range(length)) for k in range(components))


def _factors(thumbnail: Image.Image) -> list[tuple[float, ...]]:
    """The DC then AC components, row by row, each as linear (r, g, b)."""
    width, height = thumbnail.size
    linear = list(map(_TO_LINEAR.__getitem__, thumbnail.tobytes()))
    basis_x, basis_y = _cosines(_X_COMPONENTS, width), _cosines(_Y_COMPONENTS, height)
    # The basis is separable: weigh along each row first, then down the columns.
    # by_row[channel][x component][y] is one row of one channel summed against one cosine.
    by_row = []
    for channel in (linear[0::3], linear[1::3], linear[2::3]):
        rows = [channel[y * width : (y + 1) * width] for y in range(height)]
        by_row.append([[sum(map(mul, cx, row)) for row in rows] for cx in basis_x])
    factors = []
    for j, cy in enumerate(basis_y):
        for i in range(_X_COMPONENTS):
            scale = (1 if i == j == 0 else 2) / (width * height)
            factors.append(tuple(scale * sum(map(mul, cy, channel[i])) for channel in by_row))
    return factors


def blurhash(im: Image.Image) -> str:
    """The BlurHash of the image, alpha flattened onto white."""
    if max(im.size) > _SAMPLE_EDGE:
        im = im.resize(fit(im.size, _SAMPLE_EDGE), Image.Resampling.NEAREST)
    thumbnail = flatten(im.resize(fit(im.size, _THUMBNAIL_EDGE), Image.Resampling.BOX)).convert("RGB")
    dc, *ac = _factors(thumbnail)
    quantised_max = max(0, min(82, math.floor(max(abs(v) for rgb in ac for v in rgb) * 166 - 0.5)))
    maximum = (quantised_max + 1) / 166
    parts = [
        _base83(_X_COMPONENTS - 1 + (_Y_COMPONENTS - 1) * 9, 1),
        _base83(quantised_max, 1),
        _base83((_linear_to_byte(dc[0]) << 16) + (_linear_to_byte(dc[1]) << 8) + _linear_to_byte(dc[2]), 4),
    ]
    parts += [
        _base83(_quantise_ac(r, maximum) * 361 + _quantise_ac(g, maximum) * 19 + _quantise_ac(b, maximum), 2)
        for r, g, b in ac
    ]
    return "".join(parts)
