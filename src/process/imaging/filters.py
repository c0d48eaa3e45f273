"""Named pixel filters applied to each variant after resizing."""

from collections.abc import Callable

from PIL import Image, ImageFilter, ImageOps

Filter = Callable[[Image.Image], Image.Image]

# The widely used sepia tone matrix; Pillow clips the results to 0..255.
_SEPIA = (0.393, 0.769, 0.189, 0, 0.349, 0.686, 0.168, 0, 0.272, 0.534, 0.131, 0)


def _sepia(im: Image.Image) -> Image.Image:
    """Tone toward warm brown."""
    return im.convert("RGB").convert("RGB", _SEPIA)


def _kernel(kernel: ImageFilter.Filter) -> Filter:
    """Wrap a Pillow convolution filter."""
    return lambda im: im.filter(kernel)


_REGISTRY: dict[str, Filter] = {
    "grayscale": lambda im: im.convert("L"),
    "sepia": _sepia,
    "blur": _kernel(ImageFilter.GaussianBlur(2)),
    "sharpen": _kernel(ImageFilter.SHARPEN),
    "contour": _kernel(ImageFilter.CONTOUR),
    "edge": _kernel(ImageFilter.FIND_EDGES),
    "emboss": _kernel(ImageFilter.EMBOSS),
    "invert": ImageOps.invert,
    "autocontrast": ImageOps.autocontrast,
}

FILTERS: tuple[str, ...] = tuple(_REGISTRY)


def apply_filters(im: Image.Image, names: tuple[str, ...]) -> Image.Image:
    """Run the named filters in order, leaving any alpha channel untouched."""
    if not names:
        return im
    # Convolutions and point ops on the alpha band would blur or invert the
    # transparency mask itself, so filters only ever see the colour bands.
    alpha = im.getchannel("A") if im.mode in ("LA", "RGBA") else None
    colour = im.convert(im.mode[:-1]) if alpha is not None else im
    for name in names:
        colour = _REGISTRY[name](colour)
    if alpha is None:
        return colour
    colour.putalpha(alpha)
    return colour
