"""EXIF orientation: read it once, then apply it to each (already resized) image."""

from PIL import ExifTags, Image

_T = Image.Transpose
# The same table ImageOps.exif_transpose uses; kept here so orientation can be applied
# after resizing, where transposing is cheap, rather than to the full-size decode.
_TRANSPOSE = {
    2: _T.FLIP_LEFT_RIGHT,
    3: _T.ROTATE_180,
    4: _T.FLIP_TOP_BOTTOM,
    5: _T.TRANSPOSE,
    6: _T.ROTATE_270,
    7: _T.TRANSVERSE,
    8: _T.ROTATE_90,
}


def orientation(im: Image.Image) -> int:
    """The EXIF orientation 1..8, 1 when absent or invalid."""
    value = im.getexif().get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def oriented(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """A stored size as displayed, or a displayed size as stored (the mapping is its own inverse)."""
    return (size[1], size[0]) if orientation >= 5 else size


def apply(im: Image.Image, orientation: int) -> Image.Image:
    """Turn and flip a stored image so it displays upright."""
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im
