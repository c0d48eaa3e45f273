"""Identify, bound and decode uploaded bytes, turning every failure into an ImageRejected."""

import io
import math
import re
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import pillow_heif
from PIL import Image, UnidentifiedImageError

from . import colour, encode, metadata, orient, planar, resize
from .errors import CorruptImage, ImageTooLarge, UnsupportedImage
from .planar import Planes
from .recipe import Recipe

Size = tuple[int, int]

pillow_heif.register_heif_opener()
# Our own check from the header decides; Pillow's warning below its error threshold is noise.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# AVIF before HEIF: both claim the generic "mif1" brand, and libheif here has no AV1 decoder.
_OPEN_AS = ["JPEG", "PNG", "WEBP", "GIF", "AVIF", "HEIF", "TIFF", "BMP"]
_NAMES = {name: name.lower() for name in _OPEN_AS} | {"MPO": "jpeg"}

# Formats whose animation is decoded frame by frame; for the others only the first frame is read.
ANIMATED_FORMATS = ("gif", "webp")

# RuntimeError is how the AVIF and HEIF bindings report undecodable data.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    RuntimeError,
    struct.error,
    zlib.error,
)

# How libheif starts the message of a valid file it cannot decode (a colour matrix it has no conversion for);
# pillow-heif raises it as a SyntaxError or RuntimeError.
_LIBHEIF_UNSUPPORTED = "Unsupported feature"

_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


@contextmanager
def decoding() -> Iterator[None]:
    """Report any failure while parsing or decoding as a rejection."""
    try:
        yield
    # The recipe's limit is checked from the header before decoding. Pillow's own
    # process-wide check stays on as a backstop: it also guards buffers sized while
    # parsing (GIF disposal areas, canvas growth), before any check of ours can run.
    except Image.DecompressionBombError as error:
        raise ImageTooLarge(
            "The image declares more pixels than can be decoded safely. Reduce its size and upload it again."
        ) from error
    except _DECODE_ERRORS as error:
        if str(error).startswith(_LIBHEIF_UNSUPPORTED):
            raise UnsupportedImage(
                f"The image uses a feature its decoder does not support ({error}). Convert it to JPEG or PNG and "
                "upload it again."
            ) from error
        raise CorruptImage(
            f"The image data is damaged or incomplete ({error}). Re-export the image and upload it again."
        ) from error


def _looks_supported(data: bytes) -> bool:
    """Whether the bytes start like one of the accepted formats."""
    if data.startswith(_SIGNATURES):
        return True
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    return data[4:8] == b"ftyp"


def megapixels(pixels: int) -> str:
    """A pixel count as people read it: "900 megapixels", "12.3 megapixels"."""
    return f"{pixels / 1e6:.1f}".removesuffix(".0") + " megapixels"


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    """Refuse a canvas over the pixel limit."""
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The image is {width}x{height} pixels ({megapixels(width * height)}); the limit is "
            f"{megapixels(max_pixels)}. Reduce its size and upload it again."
        )


def open_image(data: bytes, max_pixels: int) -> tuple[Image.Image, str]:
    """Open and bound the image from its header, returning it with its lower-case format."""
    _tie_pillow_backstop(max_pixels)
    if data[4:8] == b"ftyp":
        # Before pillow-heif opens it: its context takes libheif's limits when it is made. Imported here for
        # the cold start, as in _still_picture.
        from . import heif

        heif.limit_libheif(max_pixels)
    with decoding():
        try:
            im = Image.open(io.BytesIO(data), formats=_OPEN_AS)
        except Image.DecompressionBombError as error:
            declared = re.search(r"\((\d+) pixels\)", str(error))
            size = megapixels(int(declared[1])) if declared else "larger than the limit"
            raise ImageTooLarge(
                f"The image is {size}; the limit is {megapixels(max_pixels)}. Reduce its size and upload it again."
            ) from None
        except UnidentifiedImageError:
            if _looks_supported(data):
                raise CorruptImage(
                    "The file looks like an image but its header is damaged. Re-export the image and upload it again."
                ) from None
            raise UnsupportedImage(
                "This file is not a supported image. Upload a JPEG, PNG, WebP, GIF, AVIF, HEIC, TIFF or BMP file."
            ) from None
        if min(im.size) < 1:
            raise CorruptImage("The image header gives it no width or height. Re-export the image and upload it again.")
        _check_pixels(im.size, max_pixels)
    return im, _NAMES[im.format]


def _tie_pillow_backstop(max_pixels: int) -> None:
    # Pillow sizes some buffers while parsing (a GIF frame's disposal area when seeking to it) before
    # any check of ours can run; its own check refuses sizes over twice MAX_IMAGE_PIXELS, so tie that to
    # the recipe's limit. The setting is process-wide, and every call in a function carries the same limit.
    Image.MAX_IMAGE_PIXELS = math.ceil(max_pixels / 2)


def is_animated(im: Image.Image, fmt: str) -> bool:
    """Whether the source is an animation this module decodes frame by frame."""
    # Counting a GIF's frames parses every frame header, where damage can surface.
    with decoding():
        return fmt in ANIMATED_FORMATS and im.n_frames > 1


def load(im: Image.Image, draft_size: tuple[int, int] | None) -> Image.Image:
    """Decode the first frame; a JPEG may decode straight to a reduced scale no smaller than draft_size."""
    with decoding():
        # Only JPEG's DCT scaling is used: other plugins' drafts (HEIF's embedded
        # thumbnails) are separately compressed images with no quality promise.
        if draft_size and im.format in ("JPEG", "MPO"):
            im.draft(im.mode, draft_size)
        im.load()
    return im


# A second pass over the entropy-coded data for chroma (the first decodes luma alone) pays whenever DCT
# scaling skips most of the chroma work, 1/2 included: on real 8.7-14.7 MP photos, full-size luma plus
# chroma at 1/2 took 37-77 ms CPU where one RGB decode split into planes took 61-108, and one YCbCr decode
# split in memory 54-105 (docs/performance.md). The decoded chroma may fall a little short of the size a
# 4:2:0 encoder keeps (1000 px for 1024 from a 4000 px photo); planar.Planes use it as it is.
_CHROMA_SCALES = (8, 4, 2)


def dct_scale(size: tuple[int, int], draft_size: tuple[int, int] | None) -> int:
    """The reduction (1, 2, 4 or 8) Pillow's JPEG draft picks to decode size at no less than draft_size."""
    if not draft_size:
        return 1
    fits = min(size[0] // draft_size[0], size[1] // draft_size[1])
    return next(scale for scale in (8, 4, 2, 1) if fits >= scale)


def chroma_scale(size: tuple[int, int], chroma_size: tuple[int, int]) -> int | None:
    """The DCT scale (8, 4 or 2) at which a JPEG's chroma is decoded for chroma_size, or None when neither will do."""
    for scale in _CHROMA_SCALES:
        if math.ceil(max(size) / scale) >= planar.CHROMA_SHORTFALL * max(chroma_size):
            return scale
    return None


def _stores_ycbcr(im: Image.Image) -> bool:
    """Whether a three-component JPEG stores YCbCr, decided as libjpeg decides it."""
    if "jfif" in im.info:
        return True
    if "adobe" in im.info:
        return im.info.get("adobe_transform") != 0
    return [layer[0] for layer in im.layer] != [ord("R"), ord("G"), ord("B")]


def _small_chroma(data: bytes, scale: int) -> Image.Image:
    """The JPEG decoded at 1/scale, as YCbCr when it stores YCbCr (no colour conversion at all), else RGB."""
    small = Image.open(io.BytesIO(data), formats=["JPEG"])
    size = (math.ceil(small.width / scale), math.ceil(small.height / scale))
    if _stores_ycbcr(small):
        small.draft("YCbCr", size)
        try:
            small.load()
            return small
        except OSError:
            # libjpeg refused the YCbCr output after all; decode it as RGB below.
            small = Image.open(io.BytesIO(data), formats=["JPEG"])
    small.draft("RGB", size)
    small.load()
    return small


def load_planes(data: bytes, im: Image.Image, scale: int, threads: int = 1) -> tuple[Image.Image, Image.Image]:
    """A colour JPEG's full-size luma and its YCbCr decode at 1/scale.

    The luma pass skips libjpeg's chroma IDCT, upsampling and colour conversion; the second pass runs
    the IDCT on DCT-scaled blocks only. The passes are independent: with two threads they run at once
    (libjpeg releases the GIL). im keeps its metadata and is decoded as mode L.
    """
    with decoding():
        im.draft("L", None)
        if threads > 1:
            with ThreadPoolExecutor(1) as pool:
                chroma = pool.submit(_small_chroma, data, scale)
                im.load()
                small = chroma.result()
        else:
            im.load()
            small = _small_chroma(data, scale)
        # Both drafts apply to every baseline or progressive colour JPEG; the conversions are a backstop.
        luma = im if im.mode == "L" else im.convert("L")
        return luma, small if small.mode == "YCbCr" else small.convert("YCbCr")


@dataclass(frozen=True)
class Decoded:
    """One upload, decoded as far as the path it takes needs, with what its header says."""

    source: Image.Image  # as opened; an animation's frames are read from it
    format: str  # the source's, lower case
    stored: Size  # as stored: before orientation and before any reduced-scale decode
    orientation: int
    icc: bytes | None
    metadata_removed: tuple[str, ...]
    output: str  # the format to write
    # The path: None for an animation (decoded frame by frame), Planes for 4:2:0 output of an opaque colour
    # image, else the first frame in a working mode (colour.to_working_mode).
    picture: Image.Image | Planes | None

    @property
    def shown(self) -> Size:
        """The size as displayed."""
        return orient.oriented(self.stored, self.orientation)


def _jpeg_planes_scale(
    source: Image.Image, source_format: str, output: str, target: Size, draft: Size | None
) -> int | None:
    """The DCT scale of the chroma pass when this still JPEG is decoded as luma plus chroma, else None.

    Only for a baseline colour JPEG decoded at full size, bound for a 4:2:0 format: there two passes over the
    entropy-coded data (full-size luma, chroma at 1/4 or 1/8) cost less than one RGB decode and splitting it
    (12 MP: 95 against 131 ms). A progressive JPEG's entropy decoding is the larger part and is not worth
    doing twice (12 MP: 312 against 262 ms), nor is a JPEG the draft already shrinks (50 MP at 1/2: 370
    against 610 ms); those are decoded once and split.
    """
    if source_format != "jpeg" or source.mode != "RGB" or output not in encode.SUBSAMPLED_FORMATS:
        return None
    if source.info.get("progressive") or target == source.size or dct_scale(source.size, draft) > 1:
        return None
    return chroma_scale(source.size, planar.half(target))


def _splits_ycbcr(source: Image.Image, source_format: str, output: str, target: Size) -> bool:
    """Whether this JPEG, not decoded as two passes, is decoded once as YCbCr and split into planes.

    libjpeg then skips its colour conversion, and the planes need no RGB-to-luma pass nor a resize of
    full-size RGB for chroma: on real progressive photos 111-291 ms where an RGB decode split into planes
    took 132-293.
    """
    return (
        source_format == "jpeg"
        and source.mode == "RGB"
        and output in encode.SUBSAMPLED_FORMATS
        and target != source.size
        and _stores_ycbcr(source)
    )


def load_ycbcr(data: bytes, im: Image.Image, draft_size: Size | None) -> Image.Image:
    """The JPEG decoded once, at the draft's scale, as YCbCr; as RGB from a fresh open if libjpeg refuses YCbCr."""
    with decoding():
        im.draft("YCbCr", draft_size)
        try:
            im.load()
            return im
        except OSError:
            pass
    # Damage raises again here, as a rejection.
    fallback = Image.open(io.BytesIO(data), formats=["JPEG"])
    return load(fallback, draft_size)


def _still_picture(data: bytes, source: Image.Image, source_format: str, recipe: Recipe, animated: bool):
    """The first frame as the still or planar path takes it, and the format to write."""
    stored = source.size
    largest = max(spec.long_edge for spec in recipe.variants)
    # The largest variant in stored orientation: the first and by far the costliest resize.
    target = resize.fit(stored, largest)
    draft = None if animated else resize.draft_size(stored, largest)
    # A JPEG has no alpha, so its output format is known before decoding.
    opaque_output = encode.output_format(source_format, recipe.output_format, has_alpha=False)
    heic_planes = source_format == "heif" and source.mode == "RGB" and target != stored
    if heic_planes and opaque_output in encode.SUBSAMPLED_FORMATS:
        # An opaque colour HEIC bound for 4:2:0: luma and chroma as the decoder holds them (see heif.py).
        # Imported here: ctypes and libheif's API cost a cold start that decodes no HEIC nothing.
        from . import heif

        with decoding():
            planes = heif.load_planes(data, recipe.threads)
        if planes is not None:
            return planar.box_reduced_chroma(planes, target), opaque_output
    scale = None if animated else _jpeg_planes_scale(source, source_format, opaque_output, target, draft)
    if scale:
        luma, small = load_planes(data, source, scale, recipe.threads)
        with decoding():
            return Planes(luma, *planar.chroma_bands(small)), opaque_output
    if not animated and _splits_ycbcr(source, source_format, opaque_output, target):
        decoded = load_ycbcr(data, source, draft)
        with decoding():
            if decoded.mode == "YCbCr":
                return planar.box_reduced_chroma(Planes(*decoded.split()), target), opaque_output
            return planar.from_rgb(decoded, target), opaque_output
    load(source, draft)
    # Palettes are resolved lazily, so damage can still surface here.
    with decoding():
        picture = colour.to_working_mode(source)
    output = encode.output_format(source_format, recipe.output_format, colour.has_transparency(picture))
    if picture.mode == "RGB" and output in encode.SUBSAMPLED_FORMATS and not animated and target != stored:
        return planar.from_rgb(picture, target), output
    return picture, output


def _admit_all(source: Image.Image, source_format: str) -> None:
    """Refuse nothing beyond the header checks."""


def read(data: bytes, recipe: Recipe, admit: Callable[[Image.Image, str], None] = _admit_all) -> Decoded:
    """Open, bound and decode an upload for the path it takes: animated, planar or still.

    admit sees the opened source and its format before any pixel is decoded, and may refuse the job.
    """
    # Read by pillow-heif when it opens a file; process-wide, and every call in a function has the same.
    pillow_heif.options.DECODE_THREADS = recipe.threads
    source, source_format = open_image(data, recipe.max_pixels)
    admit(source, source_format)
    stored = source.size
    animated = is_animated(source, source_format)
    # Animated GIF and WebP are kept as they are, so their output format does not depend on alpha.
    animated_output = encode.output_format(source_format, recipe.output_format, has_alpha=False)
    picture: Image.Image | Planes | None
    if animated and animated_output in encode.ANIMATION_FORMATS:
        load(source, None)
        picture, output = None, animated_output
    else:
        picture, output = _still_picture(data, source, source_format, recipe, animated)
    # Metadata is parsed lazily, so damage can still surface here.
    with decoding():
        orientation = orient.orientation(source)
        removed = metadata.found(source)
    return Decoded(
        source=source,
        format=source_format,
        stored=stored,
        orientation=orientation,
        icc=source.info.get("icc_profile"),
        metadata_removed=removed,
        output=output,
        picture=picture,
    )
