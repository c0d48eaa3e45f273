"""Image builders for the imaging tests: every test image is generated in code."""

import hashlib
import io
import os
import struct
import tempfile
import zlib
from functools import cache
from pathlib import Path

import imaging  # also registers the HEIF opener that decode() relies on
import numpy as np
import pillow_heif
from imaging import heif as heif_module
from imaging.planar import Planes
from PIL import Image, ImageDraw

from testkit.images import photo  # noqa: F401 - the imaging tests' photo, re-exported


def encode(im: Image.Image, fmt: str, **options) -> bytes:
    """Save an image to bytes."""
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def decode(data: bytes) -> Image.Image:
    """Open and fully load output bytes."""
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def luma(im: Image.Image) -> np.ndarray:
    """8-bit luma as a float array."""
    return np.asarray(im.convert("L"), dtype=np.float64)


@cache
def big_photo_jpeg() -> bytes:
    """A 4000x3000 photo-like JPEG, built once per test run."""
    return encode(photo(4000, 3000, seed=7), "JPEG", quality=92)


def heic(im: Image.Image, *, bits: int = 8, tile: int = 0, **options) -> bytes:
    """An HEIC of an RGB image, optionally 10-bit and grid-tiled as phones write them (512 px tiles).

    x265's fastest preset keeps a 12 MP encode to seconds; the decoder's work is that of any HEVC stream.
    """
    if bits == 8:
        heif = pillow_heif.from_pillow(im)
    else:
        wide = (np.asarray(im, dtype=np.uint16) * 257).tobytes()
        heif = pillow_heif.from_bytes(mode="RGB;16", size=im.size, data=wide)
    buffer = io.BytesIO()
    heif.save(buffer, quality=90, tile_size=tile, enc_params={"preset": "ultrafast"}, **options)
    return buffer.getvalue()


@cache
def phone_heic(bits: int = 8) -> bytes:
    """A 4032x3024 HEIC in 512 px tiles, as a phone camera writes it.

    Its encode takes x265 seconds (most of the tests that use it), so it is kept on disk between runs and
    pytest-xdist's workers, under a name that changes with the picture's pixels and the encoder's version."""
    im = photo(4032, 3024, seed=11)
    digest = hashlib.sha256(im.tobytes() + f"{bits} {pillow_heif.__version__}".encode()).hexdigest()[:16]
    kept = Path(tempfile.gettempdir()) / "imageservice-tests" / f"phone-{digest}.heic"
    if kept.exists():
        return kept.read_bytes()
    data = heic(im, bits=bits, tile=512)
    kept.parent.mkdir(exist_ok=True)
    partial = kept.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(data)
    partial.replace(kept)  # whole or not at all, whichever worker writes it first
    return data


MARKER_RED = (230, 20, 20)
MARKER_GREEN = (20, 200, 20)
BACKGROUND = (40, 60, 160)


def marked(width: int = 60, height: int = 40) -> Image.Image:
    """An upright image: red square at the top-left corner, green at the top-right."""
    im = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(im)
    side = min(width, height) // 4
    draw.rectangle((0, 0, side - 1, side - 1), fill=MARKER_RED)
    draw.rectangle((width - side, 0, width - 1, side - 1), fill=MARKER_GREEN)
    return im


# How to store an upright image so that EXIF orientation N displays it upright again.
_STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def stored_for(upright: Image.Image, orientation: int) -> Image.Image:
    """The stored pixels of an image that displays as `upright` under the given orientation."""
    method = _STORE_FOR_ORIENTATION[orientation]
    return upright.copy() if method is None else upright.transpose(method)


def exif(
    *,
    orientation: int | None = None,
    gps: bool = False,
    camera: bool = False,
    timestamps: bool = False,
    other: bool = False,
) -> Image.Exif:
    """An EXIF block with the chosen groups of tags."""
    data = Image.Exif()
    if orientation is not None:
        data[0x0112] = orientation
    if camera:
        data[0x010F] = "ExampleCam"
        data[0x0110] = "Model 9"
    if timestamps:
        data.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    if other:
        data.get_ifd(0x8769)[0x829A] = 0.01  # ExposureTime
    if gps:
        gps_ifd = data.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = (51.0, 30.0, 0.0)
        gps_ifd[3] = "W"
        gps_ifd[4] = (0.0, 7.0, 0.0)
    return data


XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="Secret Photographer"/>'
    b'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)

# Traces each kind of metadata leaves in encoded bytes.
METADATA_TRACES = (
    b"Exif\x00\x00",
    b"EXIF",
    b"ICCP",
    b"ExampleCam",
    b"Model 9",
    b"2024:05:06",
    b"xmpmeta",
    b"Secret",
    b"ICC_PROFILE",
    b"iCCP",
    b"eXIf",
    b"tEXt",
    b"iTXt",
    b"zTXt",
    b"top secret comment",
)


def _s15f16(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _tag_xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + _s15f16(x) + _s15f16(y) + _s15f16(z)


def _tag_gamma(gamma: float) -> bytes:
    return b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, round(gamma * 256)) + b"\x00\x00"


def _tag_text(text: str) -> bytes:
    return b"text\x00\x00\x00\x00" + text.encode("ascii") + b"\x00"


def _tag_desc(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\x00"
    return (
        b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\x00" * 67
    )


# D50-adapted sRGB primaries.
_RED = (0.4361, 0.2225, 0.0139)
_GREEN = (0.3851, 0.7169, 0.0971)
_BLUE = (0.1431, 0.0606, 0.7141)


@cache
def swapped_primaries_profile() -> bytes:
    """A valid RGB ICC v2 profile whose red and green primaries are exchanged.

    Pixels tagged with it that read (200, 30, 30) are really green, so the test can
    tell a real conversion from merely dropping the profile.
    """
    tags = [
        (b"desc", _tag_desc("Swapped primaries test profile")),
        (b"cprt", _tag_text("No copyright, test data")),
        (b"wtpt", _tag_xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _tag_xyz(*_GREEN)),
        (b"gXYZ", _tag_xyz(*_RED)),
        (b"bXYZ", _tag_xyz(*_BLUE)),
        (b"rTRC", _tag_gamma(2.2)),
        (b"gTRC", _tag_gamma(2.2)),
        (b"bTRC", _tag_gamma(2.2)),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, body = [struct.pack(">I", len(tags))], b""
    for signature, data in tags:
        data += b"\x00" * (-len(data) % 4)
        table.append(signature + struct.pack(">II", offset + len(body), len(data)))
        body += data
    size = 128 + table_size + len(body)
    header = (
        struct.pack(">I", size)
        + b"\x00\x00\x00\x00"
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\x00" * 24
        + struct.pack(">I", 0)
        + _s15f16(0.9642)
        + _s15f16(1.0)
        + _s15f16(0.8249)
        + b"\x00" * 48
    )
    assert len(header) == 128
    return header + b"".join(table) + body


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims the given size."""
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + _png_chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A tiny JPEG whose frame header claims the given size."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    sos = b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    return b"\xff\xd8" + sof + sos + b"\x00" * 64 + b"\xff\xd9"


def gif_with_huge_frame() -> bytes:
    """A 10x10 GIF whose single frame claims a 60000x60000 extent with disposal to background."""
    header = b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    control = b"\x21\xf9\x04\x08\x00\x00\x00\x00"
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, 60000, 60000, 0)
    return header + control + descriptor + b"\x02\x02\x4c\x01\x00;"


FRAME_COLOURS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
FRAME_DURATIONS = (100, 200, 300)


def animation_frames(width: int = 80, height: int = 60, transparent: bool = False) -> list[Image.Image]:
    """Three frames, each a coloured square that moves right; transparent or grey elsewhere."""
    frames = []
    for i, colour in enumerate(FRAME_COLOURS):
        frame = Image.new("RGBA", (width, height), (0, 0, 0, 0) if transparent else (128, 128, 128, 255))
        left = 4 + i * width // 4
        ImageDraw.Draw(frame).rectangle(
            (left, height // 6, left + width // 4 - 1, height - 1 - height // 6), fill=colour + (255,)
        )
        frames.append(frame)
    return frames


def animated(fmt: str, *, transparent: bool = False, count: int = 3, loop: int | None = 0, size=(80, 60)) -> bytes:
    """An animated GIF or WebP."""
    frames = animation_frames(*size, transparent=transparent)
    frames = (frames * count)[:count]
    for i in range(3, count):
        # Identical consecutive frames are merged by the writers; keep each one distinct.
        frames[i] = frames[i].copy()
        frames[i].putpixel((0, 0), (i % 256, 0, 0, 255))
    options = {"save_all": True, "append_images": frames[1:], "duration": list((FRAME_DURATIONS * count)[:count])}
    if loop is not None:
        options["loop"] = loop
    if fmt == "GIF" and transparent:
        options["disposal"] = 2
    if fmt == "WEBP":
        options["lossless"] = True
    return encode(frames[0], fmt, **options)


def recipe(*edges: int, **options) -> "imaging.Recipe":
    """A recipe with one variant per long edge, named v<edge>."""
    return imaging.Recipe(variants=tuple(imaging.VariantSpec(f"v{edge}", edge) for edge in edges), **options)


def only(data: bytes, *edges: int, **options) -> Image.Image:
    """Run the pipeline and decode its first variant."""
    return decode(imaging.build_variants(data, recipe(*(edges or (4096,)), **options)).variants[0].data)


def block_difference(out: Image.Image, reference: Image.Image) -> float:
    """Mean difference of 8x8 block means over every channel: colour, which SSIM of luma does not see, and
    which codec and resampling noise barely move."""

    def blocks(im):
        return np.asarray(im.resize((out.width // 8, out.height // 8), Image.Resampling.BOX), dtype=float)

    return float(np.abs(blocks(out) - blocks(reference)).mean())


def record_plane_path(monkeypatch) -> list[bool]:
    """Record, per HEIC decode, whether heif.load_planes gave planes (False: it fell back to Pillow)."""
    taken = []
    real = heif_module.load_planes

    def spy(data, threads):
        planes = real(data, threads)
        taken.append(isinstance(planes, Planes))
        return planes

    monkeypatch.setattr(heif_module, "load_planes", spy)
    return taken
