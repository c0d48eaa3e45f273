"""Luma at full resolution and chroma at half: the layout JPEG, WebP and AVIF store colour in.

Pillow resamples every band at the same cost, so shrinking a camera-sized RGB image spends two thirds of its
time on chroma that a 4:2:0 encoder then averages down to a quarter of the pixels. Planes keep luma (Pillow's
"L", the same ITU-R 601 weights as JPEG's Y) and the two chroma bands apart: luma is resampled as the RGB path
would, chroma only at the half size the encoder keeps. The image handed to the encoder repeats each chroma
sample 2x2, which a 4:2:0 encoder's 2x2 average turns back into the planes exactly.
"""

from dataclasses import dataclass

from PIL import Image

from . import resize

Size = tuple[int, int]


def half(size: Size) -> Size:
    """The chroma size a 4:2:0 encoder keeps for an image of the given size."""
    return (size[0] + 1) // 2, (size[1] + 1) // 2


# Decoded chroma a little smaller than half the target (1000 px for 1024 from a 4000 px JPEG decoded at
# 1/4) is used as it is: resampling it by 2% would cost 10 ms on a 12 MP photo for a change no one can see
# in chroma. The join then spreads its samples over 2.05 rather than 2 luma pixels.
CHROMA_SHORTFALL = 0.95


def _close_enough(chroma: Size, wanted: Size) -> bool:
    return all(CHROMA_SHORTFALL * w <= c <= w for c, w in zip(chroma, wanted, strict=True))


def _spread(band: Image.Image, size: Size) -> Image.Image:
    """A chroma band with each sample repeated over the luma pixels it covers (2x2 at exactly half size)."""
    if band.size == half(size):
        doubled = band.resize((band.width * 2, band.height * 2), Image.Resampling.NEAREST)
        return doubled if doubled.size == size else doubled.crop((0, 0, *size))
    return band.resize(size, Image.Resampling.NEAREST)


@dataclass(frozen=True)
class Planes:
    """Luma and the Cb and Cr bands of one picture; chroma is at half the luma size once resized()."""

    luma: Image.Image
    cb: Image.Image
    cr: Image.Image

    @property
    def size(self) -> Size:
        return self.luma.size

    def resized(self, size: Size) -> "Planes":
        """Luma at size, chroma at (about) half of it; planes already at size are returned as they are."""
        if size == self.size:
            return self
        chroma = half(size)
        if _close_enough(self.cb.size, chroma):
            return Planes(resize.resample(self.luma, size), self.cb, self.cr)
        return Planes(
            resize.resample(self.luma, size),
            resize.resample_chroma(self.cb, chroma),
            resize.resample_chroma(self.cr, chroma),
        )

    def transpose(self, method: Image.Transpose) -> "Planes":
        """Turn or flip every plane the same way."""
        return Planes(self.luma.transpose(method), self.cb.transpose(method), self.cr.transpose(method))

    def image(self) -> Image.Image:
        """The picture as one YCbCr image, for the JPEG encoder as it is or converted to RGB for the others."""
        assert _close_enough(self.cb.size, half(self.size)), "resize the planes before joining them"
        return Image.merge("YCbCr", (self.luma, _spread(self.cb, self.size), _spread(self.cr, self.size)))


def box_reduced_chroma(planes: Planes, size: Size) -> Planes:
    """Planes with full-size chroma box-reduced by the largest whole factor that keeps it near half of size.

    A 12 MP HEIC's chroma (2016x1512) for a 2048 px variant becomes 1008x756 by a 2x2 average, the size a
    1/4 JPEG chroma decode has, rather than being resampled bilinearly at the first resize.
    """
    # ceil(c / factor) >= c / factor >= CHROMA_SHORTFALL * w for every factor up to this one.
    factor = int(min(c / (CHROMA_SHORTFALL * w) for c, w in zip(planes.cb.size, half(size), strict=True)))
    if factor < 2:
        return planes
    return Planes(planes.luma, planes.cb.reduce(factor), planes.cr.reduce(factor))


def chroma_bands(im: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The Cb and Cr bands of an RGB or YCbCr image."""
    _, cb, cr = (im if im.mode == "YCbCr" else im.convert("YCbCr")).split()
    return cb, cr


def from_rgb(im: Image.Image, size: Size) -> Planes:
    """Planes of a decoded RGB image that is to be shrunk to size: full-size luma, chroma already at half size."""
    cb, cr = chroma_bands(resize.resample_chroma(im, half(size)))
    return Planes(im.convert("L"), cb, cr)
