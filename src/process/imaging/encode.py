"""Choose the output format and write images and animations without metadata."""

import io
from collections.abc import Iterator, Sequence

from PIL import Image

from .colour import flatten

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
# (photos, a screenshot, artwork).
#
# WebP and AVIF, the formats the edge renders while a person waits (GET /img/{id}/{width}.{format}), are set
# here for processing's variants and the edge's renders alike; docs/performance.md has the measurements
# (bench/bench_processing.py --photos DIR --edge, 11 real photos at 320-1280 px against sharp's defaults).
# WebP: method 4, libwebp's and sharp's default (the same bytes and SSIM as sharp's); 2 was 2.2x faster for
# 5% larger files and lower SSIM, 6 1.7x slower for 3% smaller. AVIF: libaom's speed 8 was 2-4x faster than
# 6 and 7 for 4-12% larger files, and 9 (10 gives the same bytes) 2.6-3.2x faster again for 24% larger
# files at the same SSIM. A person waits for a render at 640 px: there speed 8 left no room under 100 ms
# beside the decode (35-45 ms CPU for the encode alone), so outputs up to AVIF_FAST_PIXELS (1280 x 1024,
# every width the edge offers up to 1280 px) take speed 9; larger ones, mostly processing's 2048 px
# variants that no one waits for, keep speed 8 and its smaller files.
WEBP_METHOD = 4
AVIF_SPEED = 8
AVIF_FAST_SPEED = 9
AVIF_FAST_PIXELS = 1280 * 1024


def avif_speed(size: tuple[int, int]) -> int:
    """libaom's speed for an AVIF of this size."""
    return AVIF_FAST_SPEED if size[0] * size[1] <= AVIF_FAST_PIXELS else AVIF_SPEED


_OPTIONS = {
    "jpeg": lambda q: {"quality": q, "optimize": True, "subsampling": "4:2:0"},
    "png": lambda q: {"compress_level": 4},
    "webp": lambda q: {"quality": q, "method": WEBP_METHOD},
    "avif": lambda q: {"quality": q, "subsampling": "4:2:0"},
    "gif": lambda q: {},
}


def output_format(source_format: str, requested: str, has_alpha: bool) -> str:
    """The format to write, resolving "original" from the source format and "fallback" from transparency."""
    if requested == "fallback":
        return "png" if has_alpha else "jpeg"
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
    options = _OPTIONS[fmt](quality)
    if fmt == "avif":
        options |= {"max_threads": threads, "speed": avif_speed(im.size)}
    _prepared(im, fmt).save(buffer, _WRITERS[fmt][0], **options)
    return buffer.getvalue()


class _FrameStream(Image.Image):
    """Frames made one at a time, as a multi-frame image that Pillow's writers read by seeking in order.

    The GIF writer walks append_images with ImageSequence, the WebP writer seeks through range(n_frames):
    both take each frame only when they reach it, so a frame need not exist before it is encoded.
    """

    def __init__(self, frames: Iterator[Image.Image], count: int, fmt: str) -> None:
        super().__init__()
        self._frames = frames
        self._fmt = fmt
        self._index = -1
        self.n_frames = count
        self.is_animated = count > 1

    def tell(self) -> int:
        return max(self._index, 0)

    def seek(self, frame: int) -> None:
        if frame == self._index:
            return
        if frame != self._index + 1:
            raise ValueError(f"frames are made once, in order: cannot seek from {self._index} to {frame}")
        if frame >= self.n_frames:
            raise EOFError("no more frames")
        made = _prepared(next(self._frames), self._fmt)
        self.im, self._mode, self._size, self.info = made.im, made.mode, made.size, {}
        self._index = frame


def encode_animation(
    first: Image.Image,
    rest: Iterator[Image.Image],
    count: int,
    durations: Sequence[int],
    loop: int | None,
    fmt: str,
    quality: int,
    transparent: bool,
) -> bytes:
    """Write an animated GIF or WebP of count frames, pulling the frames after the first as they are encoded.

    durations is read by index after each frame is made, so it may grow as the frames are made. The GIF
    writer still keeps every frame, in palette form (1 byte a pixel), to compare neighbours before writing.
    """
    options = _OPTIONS[fmt](quality) | {
        "save_all": True,
        "append_images": [_FrameStream(rest, count - 1, fmt)],
        "duration": durations,
    }
    if loop is not None:
        options["loop"] = loop
    elif fmt == "webp":
        # A GIF without a loop count plays once; WebP's default would loop forever.
        options["loop"] = 1
    if fmt == "gif" and transparent:
        # Each frame is a full canvas; without clearing, earlier frames show through its transparent pixels.
        options["disposal"] = 2
    buffer = io.BytesIO()
    _prepared(first, fmt).save(buffer, _WRITERS[fmt][0], **options)
    return buffer.getvalue()
