"""Choose the output format and write images and animations without metadata."""

import io
from collections.abc import Sequence

from PIL import Image

from .colour import flatten, has_transparency

# format -> (Pillow writer, content type, file extension)
_WRITERS = {
    "jpeg": ("JPEG", "image/jpeg", "jpg"),
    "png": ("PNG", "image/png", "png"),
    "webp": ("WEBP", "image/webp", "webp"),
    "avif": ("AVIF", "image/avif", "avif"),
    "gif": ("GIF", "image/gif", "gif"),
}

# Sources written back in their own format under "original"; the rest (HEIF, AVIF, TIFF,
# BMP) are not served as-is by every browser, or encode slowly, so they become JPEG or PNG.
_KEPT_AS_ORIGINAL = ("jpeg", "png", "webp", "gif")

ANIMATION_FORMATS = ("gif", "webp")

# Formats written with chroma at half resolution in both directions (4:2:0), which planar.Planes produce
# directly. Lossy WebP is always 4:2:0; JPEG and AVIF are asked for it explicitly below.
SUBSAMPLED_FORMATS = ("jpeg", "webp", "avif")

# Chosen with bench/bench_processing.py --encoders: time against bytes at the same quality setting, on
# real and photo-like 2048/1024/256 px variants. JPEG: baseline with optimised Huffman tables, as sharp
# writes by default; they took 2x the encoding time (+8 ms at 2048 px) for 1-6% fewer bytes. Progressive
# took 5x (+35 ms at 2048 px, +70 on noisy photos) for 3-6% fewer; it is off. 4:2:0 is explicit:
# planar.Planes are built for it. PNG: zlib level 4 was 1.4-2x faster than 6 for 1.5-5% larger files
# (photos, a screenshot, artwork). WebP: method 4, libwebp's and sharp's default; 2 was 2.3x faster for
# 4% larger files and lower SSIM. AVIF: speed 8 was 2.3x faster than 6 for 4-10% larger files; 9 was
# 2.6-3.4x faster again for 3-19% larger files.
_OPTIONS = {
    "jpeg": lambda q: {"quality": q, "optimize": True, "subsampling": "4:2:0"},
    "png": lambda q: {"compress_level": 4},
    "webp": lambda q: {"quality": q, "method": 4},
    "avif": lambda q: {"quality": q, "speed": 8, "subsampling": "4:2:0"},
    "gif": lambda q: {},
}


def output_format(source_format: str, requested: str, has_alpha: bool) -> str:
    """The format to write, resolving "original" from the source format."""
    if requested != "original":
        return requested
    if source_format in _KEPT_AS_ORIGINAL:
        return source_format
    return "png" if has_alpha else "jpeg"


def content_type(fmt: str) -> str:
    """The MIME type of an output format."""
    return _WRITERS[fmt][1]


def extension(fmt: str) -> str:
    """The file extension of an output format, without the dot."""
    return _WRITERS[fmt][2]


def _prepared(im: Image.Image, fmt: str) -> Image.Image:
    """The image in a mode the writer keeps faithfully, carrying no metadata."""
    if fmt == "jpeg":
        im = flatten(im)
    elif im.mode == "YCbCr":
        im = im.convert("RGB")
    elif fmt == "gif" and im.mode == "LA":
        # Pillow's GIF writer drops the alpha of LA but keeps that of RGBA.
        im = im.convert("RGBA")
    # Writers fall back to im.info for ICC profiles, EXIF and comments. Every image here
    # is the pipeline's own, so clearing in place is safe and avoids a copy.
    im.info = {}
    return im


def encode(im: Image.Image, fmt: str, quality: int, threads: int = 1) -> bytes:
    """Write one still image; libavif may use up to threads threads (its default is every core it sees)."""
    buffer = io.BytesIO()
    options = _OPTIONS[fmt](quality) | ({"max_threads": threads} if fmt == "avif" else {})
    _prepared(im, fmt).save(buffer, _WRITERS[fmt][0], **options)
    return buffer.getvalue()


def encode_animation(
    frames: Sequence[Image.Image], durations: Sequence[int], loop: int | None, fmt: str, quality: int
) -> bytes:
    """Write an animated GIF or WebP with the given per-frame durations and loop count."""
    frames = [_prepared(frame, fmt) for frame in frames]
    options = _OPTIONS[fmt](quality) | {"save_all": True, "append_images": frames[1:], "duration": list(durations)}
    if loop is not None:
        options["loop"] = loop
    elif fmt == "webp":
        # A GIF without a loop count plays once; WebP's default would loop forever.
        options["loop"] = 1
    if fmt == "gif" and any(has_transparency(frame) for frame in frames):
        # Each frame is a full canvas; without clearing, earlier frames show through its transparent pixels.
        options["disposal"] = 2
    buffer = io.BytesIO()
    frames[0].save(buffer, _WRITERS[fmt][0], **options)
    return buffer.getvalue()
