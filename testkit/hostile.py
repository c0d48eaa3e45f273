"""Small files that make decoders do work their headers do not declare, built in code.

The four of issue 19, each within every size limit the upload path checks:

- heif_grid: an HEIF grid declaring 2100x2100 whose 961 tiles are 8192x8192 each, all pointing at one HEVC
  stream (libheif decodes every tile in full: 0.36 s of CPU each);
- progressive_jpeg: a 7000x7000 grey progressive JPEG whose one AC scan is repeated 52,000 times (libjpeg
  runs every scan over every block: 3.7 ms each);
- tiff_big_tile: a 100x100 TIFF with one 24000x24000 deflate tile (Pillow allocates the whole tile: 1.7 GB);
- heif_overlay: an HEIF overlay (`iovl`) whose canvas is 24500x24500 behind a 2100x2100 `ispe` (libheif
  allocates the canvas before it compares the sizes: 1.76 GB).

Each builder takes the figures as parameters, so tests can also build milder variants.
"""

import functools
import io
import os
import struct
import tempfile
import zlib
from pathlib import Path

from PIL import Image

# ---------------------------------------------------------------------------------------------- ISOBMFF


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, flags: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags) + payload)


def _children(data: bytes, start: int = 0, end: int | None = None):
    """(type, payload start, payload end) of each box in data[start:end]."""
    end = len(data) if end is None else end
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        yield kind, start + header, start + size
        start += size


def _find(data: bytes, path: list[bytes]) -> tuple[int, int]:
    """The payload span of the box at path (a FullBox's version and flags included)."""
    start, end = 0, len(data)
    for depth, kind in enumerate(path):
        for found, payload, stop in _children(data, start, end):
            if found == kind:
                start, end = payload, stop
                if kind == b"meta":
                    start += 4  # meta is a FullBox: its children follow version and flags
                break
        else:
            raise ValueError(f"no {b'/'.join(path[: depth + 1])!r} box")
    return start, end


def _cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "testkit-hostile"
    path.mkdir(exist_ok=True)
    return path


def _cached(name: str, make) -> bytes:
    """The bytes make() returns, kept in the temporary directory across runs; made in a forked child, so the
    gigabytes some of them pass through never stay resident in the caller (a test process)."""
    path = _cache_dir() / name
    if not path.exists():
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                partial = path.with_suffix(f".{os.getpid()}.partial")
                partial.write_bytes(make())
                partial.replace(path)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status != 0 or not path.exists():
            raise RuntimeError(f"making {name} failed (status {status})")
    return path.read_bytes()


@functools.cache
def hevc_stream(size: int) -> tuple[bytes, bytes]:
    """The hvcC box and the coded data of a flat grey size x size HEVC image (x265 takes seconds on an
    8192x8192 picture: cached, keyed by size and pillow-heif's version)."""
    import pillow_heif

    def make() -> bytes:
        heif = pillow_heif.from_pillow(Image.new("RGB", (size, size), (128, 128, 128)))
        buffer = io.BytesIO()
        heif.save(buffer, quality=10, enc_params={"preset": "ultrafast"}, save_nclx_profile=False)
        return buffer.getvalue()

    data = _cached(f"hevc-{size}-{pillow_heif.__version__}.heic", make)
    for kind, payload, end in _children(data, *_find(data, [b"meta", b"iprp", b"ipco"])):
        if kind == b"hvcC":
            hvcc = data[payload - 8 : end]
            break
    else:
        raise ValueError("no hvcC property")
    start, end = _find(data, [b"mdat"])  # the one image's coded data is all the mdat holds
    return hvcc, data[start:end]


def _heif(derived: bytes, derived_data: bytes, derived_size: tuple[int, int], tile: int, tiles: int) -> bytes:
    """An HEIF whose primary item (id 1, type `derived`, its data in idat) derives from `tiles` coded images
    (ids 2..), each tile x tile, every one stored at the same place in mdat."""
    assert tiles < 0xFFFF, "16-bit item ids"
    hvcc, coded = hevc_stream(tile)
    ids = range(2, 2 + tiles)

    def item_id(number: int) -> bytes:
        return struct.pack(">H", number)

    infe = [_full_box(b"infe", 2, 0, struct.pack(">HH4s", 1, 0, derived) + b"\0")]
    infe += [_full_box(b"infe", 2, 0, struct.pack(">HH4s", number, 0, b"hvc1") + b"\0") for number in ids]
    iinf = _full_box(b"iinf", 0, 0, struct.pack(">H", len(infe)) + b"".join(infe))
    dimg = _box(b"dimg", item_id(1) + struct.pack(">H", tiles) + b"".join(item_id(number) for number in ids))
    iref = _full_box(b"iref", 0, 0, dimg)
    ipco = _box(b"ipco", hvcc + _full_box(b"ispe", 0, 0, struct.pack(">II", tile, tile))
                + _full_box(b"ispe", 0, 0, struct.pack(">II", *derived_size)))
    associations = [item_id(1) + bytes([1, 0x03])]  # the derived image: its ispe (property 3)
    associations += [item_id(number) + bytes([2, 0x81, 0x02]) for number in ids]  # hvcC (essential), ispe
    ipma = _full_box(b"ipma", 0, 0, struct.pack(">I", 1 + tiles) + b"".join(associations))
    iprp = _box(b"iprp", ipco + ipma)
    hdlr = _full_box(b"hdlr", 0, 0, struct.pack(">I4s12x", 0, b"pict") + b"\0")
    pitm = _full_box(b"pitm", 0, 0, struct.pack(">H", 1))
    idat = _box(b"idat", derived_data)
    ftyp = _box(b"ftyp", b"heic" + struct.pack(">I", 0) + b"mif1heic")

    def meta(mdat_offset: int) -> bytes:
        # iloc version 1: 4-byte offsets and lengths; the derived item's data in idat (construction method 1).
        entries = [item_id(1) + struct.pack(">HHHII", 1, 0, 1, 0, len(derived_data))]
        entries += [item_id(number) + struct.pack(">HHHII", 0, 0, 1, mdat_offset, len(coded)) for number in ids]
        iloc = _full_box(b"iloc", 1, 0, bytes([0x44, 0x00]) + struct.pack(">H", 1 + tiles) + b"".join(entries))
        return _full_box(b"meta", 0, 0, hdlr + pitm + iinf + iref + iprp + idat + iloc)

    offset = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(offset) + _box(b"mdat", coded)


def heif_grid(declared: int = 2100, tile: int = 8192, columns: int = 31) -> bytes:
    """An HEIF grid declaring declared x declared pixels, made of columns x columns tiles of tile x tile."""
    descriptor = struct.pack(">BBBBHH", 0, 0, columns - 1, columns - 1, declared, declared)
    return _heif(b"grid", descriptor, (declared, declared), tile, columns * columns)


def heif_overlay(canvas: int = 24500, declared: int = 2100, tile: int = 64) -> bytes:
    """An HEIF overlay whose canvas is canvas x canvas behind an ispe of declared x declared, over one image."""
    # Version 0, flags 0 (16-bit sizes and offsets); fill RGBA; canvas size; the one image's offset.
    descriptor = struct.pack(">BB4HHHhh", 0, 0, 0, 0, 0, 0xFFFF, canvas, canvas, 0, 0)
    return _heif(b"iovl", descriptor, (declared, declared), tile, 1)


# ---------------------------------------------------------------------------------------------- JPEG


def progressive_jpeg(size: int = 7000, repeats: int = 52_000) -> bytes:
    """A grey progressive JPEG whose first AC scan is repeated `repeats` times."""
    buffer = io.BytesIO()
    Image.new("L", (size, size), 128).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    position, scans = 2, []
    while data[position + 1] != 0xD9:
        marker, length = data[position + 1], struct.unpack_from(">H", data, position + 2)[0]
        if marker == 0xDA:
            end = position + 2 + length
            while not (data[end] == 0xFF and data[end + 1] not in (0x00, *range(0xD0, 0xD8))):
                end += 1
            scans.append((position, end))
            position = end
        else:
            position += 2 + length
    # Everything up to the second scan (the DC scan, and the Huffman tables the AC scan uses), then that scan.
    ac = data[slice(*scans[1])]
    assert ac[5 + 2 * ac[4]] > 0, "the second scan is expected to be an AC scan (spectral start above 0)"
    return data[: scans[1][0]] + ac * repeats + b"\xff\xd9"


# ---------------------------------------------------------------------------------------------- TIFF


@functools.cache
def _zeros_deflated(length: int) -> bytes:
    def make() -> bytes:
        compressor, chunk = zlib.compressobj(9), bytes(1 << 24)
        parts = [compressor.compress(chunk) for _ in range(length // len(chunk))]
        return b"".join([*parts, compressor.compress(bytes(length % len(chunk))), compressor.flush()])

    return _cached(f"zeros-{length}.deflate", make)


def tiff_big_tile(size: int = 100, tile: int = 24000, samples: int = 3) -> bytes:
    """A size x size 8-bit TIFF (RGB, or grey for samples=1) stored as one deflate tile of tile x tile."""
    coded = _zeros_deflated(tile * tile * samples)
    entries = 11 if samples == 3 else 10
    ifd_size = 2 + 12 * entries + 4
    bits_at = 8 + ifd_size
    data_at = bits_at + (6 if samples == 3 else 0)
    tags = [
        (256, 3, 1, size),  # ImageWidth
        (257, 3, 1, size),  # ImageLength
        (258, 3, samples, bits_at if samples == 3 else 8),  # BitsPerSample
        (259, 3, 1, 8),  # Compression: deflate
        (262, 3, 1, 2 if samples == 3 else 1),  # PhotometricInterpretation
        (277, 3, 1, samples),  # SamplesPerPixel
        (322, 4, 1, tile),  # TileWidth
        (323, 4, 1, tile),  # TileLength
        (324, 4, 1, data_at),  # TileOffsets
        (325, 4, 1, len(coded)),  # TileByteCounts
    ]
    if samples == 3:
        tags.insert(6, (284, 3, 1, 1))  # PlanarConfiguration: chunky
    ifd = struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        ifd += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 and count == 1
                                                         else struct.pack("<I", value))
    ifd += struct.pack("<I", 0)
    bits = struct.pack("<HHH", 8, 8, 8) if samples == 3 else b""
    return b"II*\x00" + struct.pack("<I", 8) + ifd + bits + coded
