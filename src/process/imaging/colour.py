"""Bring any decoded mode to 8-bit L, LA, RGB or RGBA, and any colour space to sRGB."""

import io
from collections.abc import Callable

from PIL import Image, ImageCms

# Modes that resize and encode as they are; CMYK also resizes fine and becomes RGB in to_srgb.
_KEPT = ("L", "LA", "RGB", "RGBA", "CMYK")

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

Converter = Callable[[Image.Image], Image.Image]


def _to_8bit(im: Image.Image) -> Image.Image:
    """Scale a 16-bit, 32-bit integer or float greyscale image to L."""
    values = im.convert("F")
    peak = values.getextrema()[1]
    # I;16 is 16-bit by definition. "I" and "F" carry no range, so it is inferred:
    # floats up to 1.0 are unit range, integers above 255 are 16-bit, the rest 8-bit.
    if im.mode == "F":
        scale = 255.0 if peak <= 1.0 else 1.0
    else:
        scale = 1.0 if im.mode == "I" and peak <= 255 else 1 / 257
    # F to L truncates and clips; the half makes it round.
    return values.point(lambda v: v * scale + 0.5).convert("L")


def to_working_mode(im: Image.Image) -> Image.Image:
    """Convert the decoded image to L, LA, RGB, RGBA or CMYK."""
    if im.mode in _KEPT and not (im.mode in ("L", "RGB") and "transparency" in im.info):
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        return _to_8bit(im)
    if im.mode == "1":
        return im.convert("L")
    grey = im.mode in ("L", "La")
    return im.convert(("LA" if grey else "RGBA") if im.has_transparency_data else ("L" if grey else "RGB"))


def _profile(icc: bytes) -> ImageCms.ImageCmsProfile | None:
    """The embedded profile, or None when it cannot be parsed."""
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ImageCms.PyCMSError):
        return None


def _transform(profile: ImageCms.ImageCmsProfile, in_mode: str, out_mode: str) -> Converter | None:
    """A converter from the profile to sRGB, or None when lcms cannot build one."""
    try:
        transform = ImageCms.buildTransform(profile, _SRGB, in_mode, out_mode)
    except (OSError, ImageCms.PyCMSError):
        return None
    return lambda im: ImageCms.applyTransform(im, transform)


def _describes_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    """Whether the profile names itself sRGB; an unreadable description does not."""
    try:
        return "sRGB" in ImageCms.getProfileDescription(profile)
    except ImageCms.PyCMSError:
        return False


def unchanged(im: Image.Image) -> Image.Image:
    """Leave the image as it is."""
    return im


def srgb_converter(icc: bytes | None, mode: str) -> Converter:
    """A function taking images of the given working mode to sRGB; the profile itself is dropped."""
    profile = _profile(icc) if icc else None
    space = profile.profile.xcolor_space.strip() if profile else None
    converter = None
    # Profiles that already describe sRGB are common in camera files; skipping them saves
    # a full pass over the pixels for no visible change.
    if space == "RGB" and mode in ("RGB", "RGBA") and not _describes_srgb(profile):
        converter = _transform(profile, mode, mode)
    elif space == "CMYK" and mode == "CMYK":
        converter = _transform(profile, "CMYK", "RGB")
    if converter:
        return converter
    # Grey and mismatched profiles are dropped: grey gamma differences are slight, and a
    # profile that does not match the pixel layout cannot be applied.
    return (lambda im: im.convert("RGB")) if mode == "CMYK" else unchanged


def has_transparency(im: Image.Image) -> bool:
    """Whether any pixel is not fully opaque."""
    return im.mode in ("LA", "RGBA") and im.getextrema()[-1][0] < 255


def flatten(im: Image.Image) -> Image.Image:
    """Composite an image with alpha onto white; others are returned as they are."""
    if im.mode not in ("LA", "RGBA"):
        return im
    background = Image.new(im.mode[:-1], im.size, "white")
    background.paste(im, mask=im)
    return background
