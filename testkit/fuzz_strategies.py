"""Hostile-input strategies shared by the fuzz tests (tests/unit/test_fuzz_imaging.py,
tests/integration/test_fuzz_upload.py) and the longer run of scripts/fuzz.py.

Every seed image is generated here, in code; the strategies mutate it the way damaged or crafted
files differ from good ones: bit flips, truncation, inserted, deleted and overwritten bytes,
"interesting" integers written over the data, and header fields (the declared width and height of
each format) set to chosen values, with the PNG chunk CRC fixed up so the lie reaches the decoder."""

import base64
import contextlib
import faulthandler
import io
import json
import resource
import signal
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache

import imaging
import pillow_heif
from hypothesis import strategies as st
from PIL import Image, ImageDraw

# --------------------------------------------------------------------------------------------- limits

# The pixel limit the fuzzed recipe uses. Small on purpose: every declared size above it must be refused
# from the header, and every size below it is decoded within the time and memory budgets below.
FUZZ_MAX_PIXELS = 1_000_000

# The memory budget per input. The pipeline holds, for a still image, the decoded source (at most
# 4 bytes per pixel: RGBA, CMYK, I and F are the widest modes Pillow decodes to), one working-mode copy
# (4 B/px), and on the 16-bit greyscale path three float32 numpy temporaries (12 B/px); every later image
# (resized, oriented, filtered, encoded) is no larger than the source. That is 20 B/px at most; twice
# that covers allocator slack, plus a fixed 64 MiB for codec state (libheif, libtiff, libwebp encoders)
# and the blurhash thumbnail. A decoder that ignored the pixel limit would allocate width x height of a
# forged header, gigabytes, and fail this at once.
BYTES_PER_PIXEL_BUDGET = 40
FIXED_MEMORY_BUDGET = 64 * 1024 * 1024
MEMORY_BUDGET_BYTES = BYTES_PER_PIXEL_BUDGET * FUZZ_MAX_PIXELS + FIXED_MEMORY_BUDGET

# The time budget per input, and the hard stop (the process exits with every thread's traceback) for
# a hang inside C code that never returns to Python, where the soft budget cannot interrupt it.
TIME_BUDGET_SECONDS = 10
HARD_STOP_SECONDS = 30

REJECTION_CODES = frozenset({"corrupt_image", "image_too_large", "unsupported_image", "image_too_complex",
                             "processing_timeout"})
PROCESSED = "processed"

# Fuzzed output formats: every writer except AVIF, whose encoder takes seconds on the larger forged
# sizes and is exercised by the imaging unit tests instead.
FUZZ_OUTPUT_FORMATS = ("original", "jpeg", "png", "webp")


def fuzz_recipe(output_format: str = "original", filters: tuple[str, ...] = ()) -> imaging.Recipe:
    return imaging.Recipe(
        variants=(imaging.VariantSpec("large", 2048), imaging.VariantSpec("medium", 1024),
                  imaging.VariantSpec("thumb", 256)),
        output_format=output_format,
        quality=82,
        filters=filters,
        max_pixels=FUZZ_MAX_PIXELS,
        max_frames=50,
    )


# ---------------------------------------------------------------------------------------------- seeds

def _picture(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A small picture with gradients, edges and a transparent hole when the mode has alpha."""
    im = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(im)
    draw.ellipse((width // 5, height // 5, width * 4 // 5, height * 4 // 5), fill=(220, 60, 40))
    draw.rectangle((0, 0, width // 6, height // 6), fill=(20, 200, 20))
    if mode in ("RGBA", "LA"):
        im = im.convert("RGBA")
        ImageDraw.Draw(im).rectangle((width // 2, 0, width - 1, height // 3), fill=(0, 0, 0, 0))
    return im.convert(mode) if im.mode != mode else im


def _save(im: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def _frames(count: int, width: int, height: int) -> list[Image.Image]:
    frames = []
    for index in range(count):
        im = _picture(width, height, "RGBA")
        ImageDraw.Draw(im).rectangle((index * 6, height - 10, index * 6 + 8, height - 1), fill=(255, 255, 0, 255))
        frames.append(im)
    return frames


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "ExampleCam"
    exif.get_ifd(0x8825)[1] = "N"
    return exif


def _heic() -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(_picture(64, 48)).save(buffer, quality=60)
    return buffer.getvalue()


def _gif_animated() -> bytes:
    frames = [frame.convert("P", palette=Image.Palette.ADAPTIVE, colors=32) for frame in _frames(3, 48, 32)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[80, 120, 80], loop=0,
                 transparency=0, disposal=2)


_SEED_BUILDERS: dict[str, Callable[[], bytes]] = {
    "jpeg": lambda: _save(_picture(64, 48), "JPEG", quality=85, exif=_exif(6)),
    "jpeg_progressive_grey": lambda: _save(_picture(64, 48, "L"), "JPEG", quality=80, progressive=True),
    "jpeg_cmyk": lambda: _save(_picture(40, 32, "CMYK"), "JPEG", quality=80),
    "png_rgba": lambda: _save(_picture(64, 48, "RGBA"), "PNG"),
    "png_palette": lambda: _save(_picture(48, 32).convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG",
                                 transparency=3),
    "png_16bit_grey": lambda: _save(_picture(48, 32, "L").convert("I;16"), "PNG"),
    "gif_animated": _gif_animated,
    "webp_lossy": lambda: _save(_picture(64, 48), "WEBP", quality=70),
    "webp_lossless_rgba": lambda: _save(_picture(48, 32, "RGBA"), "WEBP", lossless=True),
    "webp_animated": lambda: (lambda f: _save(f[0], "WEBP", save_all=True, append_images=f[1:], duration=100,
                                              loop=0, quality=60))(_frames(3, 48, 32)),
    "tiff": lambda: _save(_picture(48, 32), "TIFF", exif=_exif(3)),
    "tiff_deflate_rgba": lambda: _save(_picture(48, 32, "RGBA"), "TIFF", compression="tiff_adobe_deflate"),
    "bmp": lambda: _save(_picture(48, 32), "BMP"),
    "heic": _heic,
    "avif": lambda: _save(_picture(48, 32), "AVIF", quality=50, speed=9),
}
SEED_NAMES: tuple[str, ...] = tuple(_SEED_BUILDERS)


@cache
def seed_image(name: str) -> bytes:
    return _SEED_BUILDERS[name]()


# ------------------------------------------------------------------------------------- header fields

def _set_png_size(data: bytearray, width: int, height: int, fix_crc: bool) -> None:
    if data[12:16] != b"IHDR" or len(data) < 33:
        return
    data[16:24] = struct.pack(">II", width & 0xFFFFFFFF, height & 0xFFFFFFFF)
    if fix_crc:
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)


def _jpeg_sof_offset(data: bytes) -> int | None:
    """Where the first start-of-frame segment's marker is, walking the segments after SOI."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return position
        if marker == 0xDA:  # start of scan: no frame header before it
            return None
        position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
    return None


def _set_jpeg_size(data: bytearray, width: int, height: int) -> None:
    offset = _jpeg_sof_offset(data)
    if offset is not None and offset + 9 <= len(data):
        data[offset + 5:offset + 9] = struct.pack(">HH", height & 0xFFFF, width & 0xFFFF)


def _set_gif_size(data: bytearray, width: int, height: int, frame_too: bool) -> None:
    data[6:10] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
    if not frame_too or len(data) < 13:
        return
    position = 13 + (3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while position < len(data):  # skip extensions up to the first image descriptor
        if data[position] == 0x2C and position + 9 <= len(data):
            data[position + 5:position + 9] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
            return
        if data[position] != 0x21:
            return
        position += 2
        while position < len(data) and data[position]:
            position += data[position] + 1
        position += 1


def _set_bmp_size(data: bytearray, width: int, height: int) -> None:
    if len(data) >= 26:
        data[18:26] = struct.pack("<Ii", width & 0xFFFFFFFF, _signed32(height))


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _set_webp_size(data: bytearray, width: int, height: int) -> None:
    chunk = bytes(data[12:16])
    if chunk == b"VP8X" and len(data) >= 30:
        data[24:30] = ((width - 1) & 0xFFFFFF).to_bytes(3, "little") + ((height - 1) & 0xFFFFFF).to_bytes(3, "little")
    elif chunk == b"VP8 " and len(data) >= 30:
        data[26:30] = struct.pack("<HH", width & 0x3FFF, height & 0x3FFF)
    elif chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        bits = (bits & ~0xFFFFFFF) | ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14)
        data[21:25] = bits.to_bytes(4, "little")


def _set_tiff_size(data: bytearray, width: int, height: int) -> None:
    if data[:4] != b"II*\x00" or len(data) < 8:
        return
    ifd = int.from_bytes(data[4:8], "little")
    if ifd + 2 > len(data):
        return
    count = int.from_bytes(data[ifd:ifd + 2], "little")
    for index in range(count):
        entry = ifd + 2 + 12 * index
        if entry + 12 > len(data):
            return
        tag = int.from_bytes(data[entry:entry + 2], "little")
        if tag in (256, 257):  # ImageWidth, ImageLength: rewritten as one LONG
            value = width if tag == 256 else height
            data[entry + 2:entry + 12] = struct.pack("<HII", 4, 1, value & 0xFFFFFFFF)


def _set_iso_size(data: bytearray, width: int, height: int) -> None:
    """The `ispe` (image spatial extent) property of HEIF and AVIF."""
    offset = data.find(b"ispe")
    if offset >= 0 and offset + 16 <= len(data):
        data[offset + 8:offset + 16] = struct.pack(">II", width & 0xFFFFFFFF, height & 0xFFFFFFFF)


def _gif_descriptor(data: bytes, frame: int) -> int:
    """The offset of a GIF's `frame`-th image descriptor."""
    position = 13 + (3 * 2 ** ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    seen = 0
    while position < len(data):
        if data[position] == 0x2C:
            if seen == frame:
                return position
            seen += 1
            flags = data[position + 9]
            position += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0) + 1  # + LZW code size
        elif data[position] == 0x21:
            position += 2
        else:
            break
        while position < len(data) and data[position]:  # data sub-blocks
            position += data[position] + 1
        position += 1
    raise ValueError(f"no frame {frame}")


def set_gif_frame_size(data: bytes, frame: int, width: int, height: int) -> bytes:
    """`data` (a GIF) with the size of its `frame`-th image descriptor replaced."""
    out = bytearray(data)
    position = _gif_descriptor(out, frame)
    out[position + 5:position + 9] = struct.pack("<HH", width & 0xFFFF, height & 0xFFFF)
    return bytes(out)


def set_gif_frame_position(data: bytes, frame: int, left: int, top: int) -> bytes:
    """`data` (a GIF) with its `frame`-th image placed at (left, top): Pillow grows the canvas to hold it."""
    out = bytearray(data)
    position = _gif_descriptor(out, frame)
    out[position + 1:position + 5] = struct.pack("<HH", left & 0xFFFF, top & 0xFFFF)
    return bytes(out)


def gif_with_offset_frames(count: int, header: tuple[int, int], at: tuple[int, int]) -> bytes:
    """A GIF whose header and first frame are `header` in size, then count - 1 one-pixel frames at `at`.

    The frames lie outside the declared canvas; Pillow grows its canvas to reach them and decodes every
    later frame at the grown size (issue 11: 7 KB declaring 100x100 became 300 frames of 49 MP)."""
    first = _save(Image.new("P", header, 0), "GIF")
    frame = (b"\x21\xf9\x04\x00\x0a\x00\x00\x00,"  # graphic control: 100 ms; descriptor: 1x1 at `at`
             + struct.pack("<HHHHB", at[0] & 0xFFFF, at[1] & 0xFFFF, 1, 1, 0)
             + b"\x02\x02\x44\x01\x00")  # LZW, 2-bit codes: clear, index 0, end
    return first[:-1] + frame * (count - 1) + b";"


def set_declared_size(data: bytes, width: int, height: int, *, fix_crc: bool = True,
                      frame_too: bool = True) -> bytes:
    """`data` with the width and height its header declares replaced (cut to the field's width)."""
    out = bytearray(data)
    if out.startswith(b"\x89PNG"):
        _set_png_size(out, width, height, fix_crc)
    elif out.startswith(b"\xff\xd8"):
        _set_jpeg_size(out, width, height)
    elif out[:3] == b"GIF":
        _set_gif_size(out, width, height, frame_too)
    elif out[:2] == b"BM":
        _set_bmp_size(out, width, height)
    elif out[:4] == b"RIFF":
        _set_webp_size(out, width, height)
    elif out[:4] == b"II*\x00":
        _set_tiff_size(out, width, height)
    elif out[4:8] == b"ftyp":
        _set_iso_size(out, width, height)
    return bytes(out)


# ------------------------------------------------------------------------------------------ mutations

INTERESTING_SIZES = (0, 1, 2, 255, 256, 999, 1000, 1001, 4096, 16383, 16384, 32767, 65535, 65536,
                     2**24 - 1, 2**31 - 1, 2**31, 2**32 - 1)
_INTERESTING_INTS = (0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
                     0xFFFFFFFF)

sizes = st.one_of(st.sampled_from(INTERESTING_SIZES), st.integers(0, 2**32 - 1), st.integers(1, 1200))


@st.composite
def _mutation(draw, data: bytes) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(("flip", "truncate", "insert", "delete", "overwrite", "integer", "header",
                                 "frame_offset")))
    # Most of a file's structure sits in its first bytes, so half the positions are drawn from there; but
    # past the signatures (the first 12 bytes) nine times in ten, or most inputs would merely stop looking
    # like an image and be refused as unsupported.
    end = max(1, len(data))
    start = 0 if draw(st.integers(0, 9)) == 0 else min(12, end - 1)
    position = draw(st.one_of(st.integers(start, max(start, min(end, 256) - 1)), st.integers(start, end - 1)))
    if kind == "flip":
        if not data:
            return data, kind
        bit = draw(st.integers(0, 7))
        return data[:position] + bytes([data[position] ^ (1 << bit)]) + data[position + 1:], kind
    if kind == "truncate":
        return data[:position], kind
    if kind == "insert":
        return data[:position] + draw(st.binary(min_size=1, max_size=64)) + data[position:], kind
    if kind == "delete":
        length = draw(st.integers(1, 64))
        return data[:position] + data[position + length:], kind
    if kind == "overwrite":
        chunk = draw(st.binary(min_size=1, max_size=32))
        return data[:position] + chunk + data[position + len(chunk):], kind
    if kind == "integer":
        value = draw(st.sampled_from(_INTERESTING_INTS))
        width = draw(st.sampled_from((1, 2, 4)))
        chunk = (value & ((1 << 8 * width) - 1)).to_bytes(width, draw(st.sampled_from(("big", "little"))))
        return data[:position] + chunk + data[position + width:], kind
    if kind == "frame_offset":
        # A GIF frame placed outside the canvas: Pillow grows the canvas for it and every later frame.
        if data[:3] != b"GIF":
            return data, kind
        try:
            return set_gif_frame_position(data, draw(st.integers(0, 3)), draw(sizes), draw(sizes)), kind
        except (ValueError, IndexError):
            return data, kind
    width, height = draw(sizes), draw(sizes)
    fixed = set_declared_size(data, width, height, fix_crc=draw(st.booleans()), frame_too=draw(st.booleans()))
    return fixed, "header"


@dataclass(frozen=True)
class MutatedImage:
    seed: str
    mutations: tuple[str, ...]
    data: bytes = field(repr=False)

    def __repr__(self) -> str:  # what a failing example prints: enough to rebuild it
        return (f"MutatedImage(seed={self.seed!r}, mutations={self.mutations!r}, bytes={len(self.data)}, "
                f"data=base64:{base64.b64encode(self.data[:4096]).decode()}{'...' if len(self.data) > 4096 else ''})")


@st.composite
def mutated_images(draw, seeds: tuple[str, ...] = SEED_NAMES, max_mutations: int = 4) -> MutatedImage:
    """A seed image with one to `max_mutations` mutations applied in turn."""
    seed = draw(st.sampled_from(seeds))
    data, applied = seed_image(seed), []
    for _ in range(draw(st.integers(1, max_mutations))):
        data, kind = draw(_mutation(data))
        applied.append(kind)
    return MutatedImage(seed, tuple(applied), data)


recipes = st.builds(
    fuzz_recipe,
    output_format=st.sampled_from(FUZZ_OUTPUT_FORMATS),
    filters=st.lists(st.sampled_from(imaging.FILTERS), max_size=2).map(tuple),
)


# ------------------------------------------------------------------------------------------- budgets

class BudgetExceeded(AssertionError):
    pass


@contextlib.contextmanager
def time_budget(seconds: float = TIME_BUDGET_SECONDS, hard_stop: float = HARD_STOP_SECONDS) -> Iterator[None]:
    """Fail an input that takes longer than `seconds`; end the process with tracebacks after `hard_stop`.

    The soft budget is SIGALRM (main thread, POSIX), which interrupts Python code, and is also checked
    after the call for time spent in C; the hard stop is faulthandler's watchdog thread, which needs no
    GIL and so also catches a decoder spinning in C."""
    started = time.monotonic()
    use_alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def _expired(signum, frame):
        raise BudgetExceeded(f"over the time budget of {seconds} s")

    faulthandler.dump_traceback_later(hard_stop, exit=True)
    previous = signal.signal(signal.SIGALRM, _expired) if use_alarm else None
    if use_alarm:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()
    elapsed = time.monotonic() - started
    if elapsed > seconds:
        raise BudgetExceeded(f"took {elapsed:.1f} s, over the time budget of {seconds} s")


class PeakMemory:
    """The peak resident memory one call adds, from the kernel's own high-water mark.

    Pillow allocates pixel buffers with plain malloc, which tracemalloc does not see, so resident memory
    is measured instead. On Linux the high-water mark (VmHWM) is reset before each call (clear_refs 5);
    elsewhere ru_maxrss, the process's peak so far, gives a bound that is never lower than the truth."""

    _STATUS = "/proc/self/status"

    def __init__(self):
        self.resettable = self._try_reset()
        self.before = 0
        self.peak = 0

    @staticmethod
    def _try_reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            return True
        except OSError:
            return False

    def _status_kib(self, name: str) -> int:
        with open(self._STATUS) as handle:
            for line in handle:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        raise KeyError(name)

    @staticmethod
    def _max_rss_bytes() -> int:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024

    def __enter__(self) -> "PeakMemory":
        if self.resettable and self._try_reset():
            self.before = self._status_kib("VmRSS") * 1024
        else:
            self.resettable = False
            self.before = self._max_rss_bytes()
        return self

    def __exit__(self, *exc) -> None:
        after = self._status_kib("VmHWM") * 1024 if self.resettable else self._max_rss_bytes()
        self.peak = max(0, after - self.before)

    def check(self, budget: int = MEMORY_BUDGET_BYTES) -> None:
        if self.peak > budget:
            raise BudgetExceeded(f"added {self.peak / 2**20:.0f} MiB of resident memory; the budget is "
                                 f"{budget / 2**20:.0f} MiB")


def build_outcome(data: bytes, recipe: imaging.Recipe) -> tuple[str, PeakMemory]:
    """Run build_variants under the budgets: "processed" or a rejection code; anything else raises."""
    memory = PeakMemory()
    with time_budget(), memory:
        try:
            # The deadline the time budget allows: a job estimated to need longer is refused before it starts.
            processed = imaging.build_variants(data, recipe, time.monotonic() + TIME_BUDGET_SECONDS)
        except imaging.ImageRejected as rejection:
            assert rejection.code in REJECTION_CODES, f"unknown rejection code {rejection.code!r}"
            assert rejection.message, "a rejection without a message"
            outcome = rejection.code
        else:
            assert isinstance(processed, imaging.ProcessedImage)
            _check_processed(processed, recipe)
            outcome = PROCESSED
    memory.check()
    return outcome, memory


def _check_processed(processed: imaging.ProcessedImage, recipe: imaging.Recipe) -> None:
    assert [v.name for v in processed.variants] == [spec.name for spec in recipe.variants]
    assert processed.original.width * processed.original.height <= recipe.max_pixels
    for variant, spec in zip(processed.variants, recipe.variants, strict=True):
        assert 1 <= max(variant.width, variant.height) <= spec.long_edge
        with Image.open(io.BytesIO(variant.data)) as written:
            assert written.size == (variant.width, variant.height), variant.name
            assert written.format.lower() == variant.format, variant.name


# ------------------------------------------------------------------------------------ upload requests

_CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/heic", "image/svg+xml",
                  "application/octet-stream", "text/html", "application/json", "multipart/form-data",
                  "multipart/form-data; boundary=", "multipart/mixed; boundary=x", "")
_QUERY_KEYS = ("format", "quality", "filters", "qualty", "wait", "", "format ")
# Digits int() takes and the API must not: superscript, fullwidth, Arabic-Indic, underscores, signs, spaces.
ODD_NUMBERS = ("²", "１", "８２", "٣", "5_0", "+50", " 82", "82\n", "0x10", "1e2", "-0", "8\u00a02", "0" * 400)
_QUERY_VALUES = ("jpeg", "png", "webp", "avif", "original", "JPEG", " webp ", "bmp", "exe", "0", "1", "82", "100",
                 "101", "-1", "1e2", "٣", "blur", "grayscale,sepia", "blur," * 11, ",,,", "sepia,glitter", "",
                 "ｊｐｅｇ", "\u212aelvin", "\u202egepj", "x" * 5000, *ODD_NUMBERS)
_NAMES = ("file", "File", "files", "image", "", 'fi"le')
# Boundaries as clients make them: browsers (mixed case), curl, requests, and the longest RFC 2046 allows.
BOUNDARIES = ("x", "----WebKitFormBoundary7MA4YWxkTrZu0gW", "----geckoformboundaryAbC9f3e2D1",
              "------------------------d74496d66958873e", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "a" * 70)


def _multipart_part(name: str | None, filename: str | None, content_type: str | None, payload: bytes,
                    newline: bytes) -> bytes:
    disposition = b"Content-Disposition: form-data"
    if name is not None:
        disposition += b'; name="' + name.encode("utf-8") + b'"'
    if filename is not None:
        disposition += b'; filename="' + filename.encode("utf-8") + b'"'
    headers = [disposition]
    if content_type is not None:
        headers.append(b"Content-Type: " + content_type.encode("utf-8"))
    return newline.join(headers) + newline + newline + payload


def _frame(boundary: str, parts: list[bytes], newline: bytes = b"\r\n") -> bytes:
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    return b"".join(delimiter + newline + part + newline for part in parts) + delimiter + b"--" + newline


@st.composite
def multipart_bodies(draw, payloads) -> tuple[bytes, str]:
    """A multipart/form-data body, well or badly framed, with the content type that announces it."""
    boundary = draw(st.one_of(st.sampled_from(BOUNDARIES),
                              st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=80)))
    newline = draw(st.sampled_from((b"\r\n", b"\r\n", b"\n")))
    parts = []
    for _ in range(draw(st.integers(0, 3))):
        name = st.one_of(st.just("file"), st.just("file"), st.none(), st.sampled_from(_NAMES), st.text(max_size=10))
        parts.append(_multipart_part(draw(name),
                                     draw(st.one_of(st.none(), st.just("photo.jpg"), st.text(max_size=10))),
                                     draw(st.one_of(st.none(), st.sampled_from(_CONTENT_TYPES))),
                                     draw(payloads), newline))
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    body = b"".join(delimiter + newline + part + newline for part in parts)
    if draw(st.booleans()):
        body += delimiter + b"--" + newline
    if draw(st.booleans()):  # damage: cut, or junk before the first delimiter
        body = draw(st.sampled_from((body[: len(body) // 2], b"preamble" + newline + body, body + b"epilogue")))
    announced = draw(st.sampled_from((boundary, boundary, f'"{boundary}"', "", "other")))
    content_type = f"multipart/form-data; boundary={announced}" if announced else "multipart/form-data"
    return body, content_type


@st.composite
def costly_multipart_bodies(draw) -> tuple[bytes, str]:
    """The shapes that cost a naive parser seconds of CPU: many parts, many parameters in one header, many
    header lines, parts nested inside parts. Each must be answered within UploadFunction's timeout."""
    kind = draw(st.sampled_from(("parts", "parameters", "header_lines", "nested")))
    count = draw(st.sampled_from({"parts": (17, 1_000, 50_000), "parameters": (100, 5_000, 80_000),
                                  "header_lines": (9, 1_000, 20_000), "nested": (10, 1_000, 5_000)}[kind]))
    file_part = b'Content-Disposition: form-data; name="file"'
    if kind == "parts":
        body = _frame("b", [b'Content-Disposition: form-data; name="x"\r\n\r\n'] * count)
    elif kind == "parameters":
        body = _frame("b", [file_part + b"".join(b"; p%d=v" % i for i in range(count)) + b"\r\n\r\n\xff\xd8\xff"])
    elif kind == "header_lines":
        body = _frame("b", [b"X-Filler: 1\r\n" * count + file_part + b"\r\n\r\n\xff\xd8\xff"])
    else:
        content = b"\xff\xd8\xff"
        for level in range(count):
            content = b"--n%d\r\nContent-Type: multipart/mixed\r\n\r\n%s\r\n--n%d--" % (level, content, level)
        body = _frame("b", [file_part + b"\r\nContent-Type: multipart/mixed\r\n\r\n" + content])
    return body, "multipart/form-data; boundary=b"


image_payloads = st.one_of(
    st.sampled_from(SEED_NAMES).map(seed_image),
    mutated_images(max_mutations=2).map(lambda m: m.data),
    st.binary(max_size=256),
    st.sampled_from((b"", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"<!doctype html><p>hi",
                     b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBP", b"BM" + b"\0" * 16,
                     b"\0\0\0\x18ftypheic\0\0\0\0mif1heic")),
)


@dataclass(frozen=True)
class UploadRequest:
    body: bytes | str  # str: sent as text (isBase64Encoded false), possibly not base64 at all
    base64_encoded: bool
    content_type: str | None
    query: dict[str, str]
    content_length: int | None = None  # the declared length, when the request sends one
    well_formed: bool = False  # a seed image, valid options, correct framing: it must be accepted (or too large)

    @property
    def cut_short(self) -> bool:
        return isinstance(self.body, bytes) and (self.content_length or 0) > len(self.body)

    def __repr__(self) -> str:
        body = self.body if isinstance(self.body, str) else base64.b64encode(self.body[:2048]).decode()
        return (f"UploadRequest(content_type={self.content_type!r}, query={self.query!r}, "
                f"base64_encoded={self.base64_encoded}, content_length={self.content_length}, "
                f"well_formed={self.well_formed}, bytes={len(self.body)}, body={body[:2800]!r})")


_query_values = st.one_of(st.sampled_from(_QUERY_VALUES), st.text(max_size=12))
valid_queries = st.fixed_dictionaries({}, optional={
    "format": st.sampled_from(("jpeg", "png", "webp", "original", "WebP")),
    "quality": st.integers(1, 100).map(str),
    "filters": st.lists(st.sampled_from(imaging.FILTERS), max_size=3).map(",".join),
})
# Mostly valid or absent options, so most requests get past the query to the body; some hostile ones.
queries = st.one_of(
    st.just({}),
    valid_queries,
    st.fixed_dictionaries({}, optional={"format": _query_values, "quality": _query_values, "filters": _query_values}),
    st.dictionaries(st.one_of(st.sampled_from(_QUERY_KEYS), st.text(max_size=8)), _query_values, max_size=4),
)


@st.composite
def _well_formed_upload(draw) -> UploadRequest:
    image = seed_image(draw(st.sampled_from(SEED_NAMES)))
    query = draw(valid_queries)
    if draw(st.booleans()):
        return UploadRequest(image, True, draw(st.sampled_from(("image/jpeg", "application/octet-stream"))), query,
                             len(image), well_formed=True)
    boundary = draw(st.one_of(st.sampled_from(BOUNDARIES),
                              st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_-./:=?",
                                      min_size=1, max_size=70)))
    filename = draw(st.sampled_from(("photo.jpg", "Photo 1.JPG", "résumé.png", "a;b.gif")))
    part = (b'Content-Disposition: form-data; name="file"; filename="' + filename.encode() + b'"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + image)
    extra = [b'Content-Disposition: form-data; name="note"\r\n\r\nhello'] * draw(st.integers(0, 2))
    body = _frame(boundary, [*extra, part])
    quote = draw(st.booleans()) or any(c in boundary for c in "'()+,/:=?")
    announced = f'"{boundary}"' if quote else boundary
    return UploadRequest(body, True, f"multipart/form-data; boundary={announced}", query, len(body),
                         well_formed=True)


@st.composite
def upload_requests(draw) -> UploadRequest:
    """POST /api/images as API Gateway would hand it to the function: raw, multipart or text bodies, some with
    a Content-Length longer than what arrived (a body cut short)."""
    shape = draw(st.sampled_from(("raw", "multipart", "text", "bad_base64", "well_formed", "costly")))
    content_type = draw(st.one_of(st.none(), st.sampled_from(_CONTENT_TYPES), st.text(max_size=40)))
    query = draw(queries)
    if shape == "well_formed":
        return draw(_well_formed_upload())
    if shape == "raw":
        body = draw(image_payloads)
        return UploadRequest(body, True, content_type, query, draw(_declared_lengths(len(body))))
    if shape == "multipart":
        body, content_type = draw(multipart_bodies(image_payloads))
        return UploadRequest(body, True, content_type, query, draw(_declared_lengths(len(body))))
    if shape == "costly":
        body, content_type = draw(costly_multipart_bodies())
        return UploadRequest(body, True, content_type, query, len(body))
    if shape == "text":
        return UploadRequest(draw(st.text(max_size=200)), False, content_type, query)
    text = draw(st.one_of(st.text(max_size=40), st.sampled_from(("not base64!!", "AAA", "====", "/9j/4A=A"))))
    return UploadRequest(text, True, content_type, query)


def _declared_lengths(length: int):
    return st.one_of(st.none(), st.just(length), st.just(length + 1), st.integers(length + 1, length * 2 + 2))


def upload_event(template_event: dict, request: UploadRequest) -> dict:
    """The sample POST /api/images event of events/ carrying this request."""
    import copy

    event = copy.deepcopy(template_event)
    if isinstance(request.body, bytes):
        event["body"] = base64.b64encode(request.body).decode()
    else:
        event["body"] = request.body
    event["isBase64Encoded"] = request.base64_encoded
    headers = {k: v for k, v in event["headers"].items() if k not in ("content-type", "content-length")}
    if request.content_type is not None:
        headers["content-type"] = request.content_type
    if request.content_length is not None:
        headers["content-length"] = str(request.content_length)
    event["headers"] = headers
    if request.query:
        event["queryStringParameters"] = dict(request.query)
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in request.query.items())
    else:
        event.pop("queryStringParameters", None)
        event["rawQueryString"] = ""
    return event


UPLOAD_ERROR_CODES = {400: {"bad_request", "invalid_option"}, 413: {"payload_too_large"},
                      415: {"unsupported_media_type"}}
# An error message quotes at most a short prefix of what was sent; the longest fixed sentence is shorter.
MAX_MESSAGE_CHARS = 300


def upload_outcome(response: dict, request: UploadRequest | None = None) -> str:
    """"202" or "<status> <code>" for a documented answer; anything else raises AssertionError, and so does an
    answer the request rules out (a well-formed upload refused, a body cut short accepted)."""
    outcome = api_outcome(response, UPLOAD_ERROR_CODES, success=202)
    if outcome == "202":
        body = json.loads(response["body"])
        assert body["status"] == "pending" and body["id"], body
    if request is not None and request.well_formed:
        assert outcome in ("202", "413 payload_too_large"), f"a well-formed upload got {outcome}"
    if request is not None and request.cut_short:  # refused, for its length or for its options
        assert outcome.startswith("400 "), f"a body cut short got {outcome}"
    return outcome


def api_outcome(response: dict, error_codes: dict[int, set[str]], success: int | tuple[int, ...]) -> str:
    """"<status>" for a success, "<status> <code>" for a documented error; anything else raises."""
    assert isinstance(response, dict) and "statusCode" in response, response
    status = response["statusCode"]
    if status in ((success,) if isinstance(success, int) else success):
        return str(status)
    assert status in error_codes, f"answer {status}: {str(response.get('body'))[:500]}"
    body = json.loads(response["body"])
    assert set(body) >= {"error"} and set(body["error"]) == {"code", "message"}, body
    code, message = body["error"]["code"], body["error"]["message"]
    assert code in error_codes[status], f"{status} with code {code}"
    assert isinstance(message, str) and 0 < len(message) <= MAX_MESSAGE_CHARS, message[:500]
    assert message.isprintable(), f"an unprintable character in {message[:500]!r}"
    return f"{status} {code}"


# ------------------------------------------------------------------------ POST /api/uploads JSON bodies

_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                          st.text(max_size=20), st.sampled_from(_QUERY_VALUES))
_json_values = st.recursive(_json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                   st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4)), max_leaves=12)
_option_members = st.fixed_dictionaries({}, optional={
    "content_type": st.one_of(st.sampled_from(("image/jpeg", "image/PNG", "image/svg+xml", "text/html", "")),
                              _json_values),
    "format": st.one_of(st.sampled_from(("jpeg", "webp", "original", "WEBP")), _json_values),
    "quality": st.one_of(st.integers(-5, 120), _json_values),
    "filters": st.one_of(st.lists(st.sampled_from(imaging.FILTERS), max_size=12), _json_values),
})


@st.composite
def uploads_bodies(draw) -> str:
    """The JSON body of POST /api/uploads: options of every JSON type, and text that is hardly JSON."""
    shape = draw(st.sampled_from(("options", "options", "any", "text", "deep", "duplicate", "constant")))
    if shape == "options":
        return json.dumps(draw(_option_members))
    if shape == "any":
        return json.dumps(draw(_json_values))
    if shape == "text":
        return draw(st.text(max_size=60))
    if shape == "deep":
        depth = draw(st.sampled_from((500, 5_000, 100_000)))
        return draw(st.sampled_from(("[" * depth, '{"a":' * depth, "[" * depth + "]" * depth)))
    if shape == "duplicate":
        return '{"format": "png", "format": "jpeg"}'
    return draw(st.sampled_from(('{"quality": NaN}', '{"quality": Infinity}', '{"quality": -Infinity}')))


UPLOADS_ERROR_CODES = {400: {"bad_request", "invalid_option"}, 415: {"unsupported_media_type"}}


def uploads_event(template_event: dict, body: str) -> dict:
    import copy

    event = copy.deepcopy(template_event)
    event["body"], event["isBase64Encoded"] = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode(), True
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "content-length"}
    return event


# --------------------------------------------------------------------------- GET /api/images/{id}[/variant]

_ODD_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@dataclass(frozen=True)
class StatusRequest:
    image_id: str  # "done", "pending" or "deleted" name an image set up by the caller; anything else is sent
    variant: str | None
    wait: str | None


status_requests = st.builds(
    StatusRequest,
    image_id=st.one_of(st.sampled_from(("done", "pending", "deleted", "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90",
                                        "3F0C9A56-8D1E-4C1B-9A59-2F4D6C7B8E90", "..", "uploads", "x" * 300)),
                       _ODD_TEXT.filter(bool)),
    variant=st.one_of(st.none(), st.sampled_from(("large", "thumb", "huge", "\u202e" + "v" * 3000, "")), _ODD_TEXT),
    wait=st.one_of(st.none(), st.sampled_from(("0", "1", "20", "21", "-1", *ODD_NUMBERS)), _ODD_TEXT),
)

STATUS_ERROR_CODES = {400: {"invalid_option"}, 404: {"not_found"}}
