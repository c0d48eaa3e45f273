"""What a file's container declares beyond its size, checked before a pixel is decoded.

The header's width and height bound the picture, not the decoder's work. An HEIF picture can be derived
from other images: a grid decodes every tile in full before cropping to the grid's size, an overlay builds
its whole canvas before comparing it with the picture's size; a TIFF tile is decoded whole whatever the
picture's size. So a 58 KB HEIF declaring 2100x2100 can make libheif decode 961 tiles of 8192x8192, and a
1.7 MB TIFF of 100x100 can make Pillow allocate one 24000x24000 tile. These checks read the structures
(ISOBMFF boxes, TIFF tags) and refuse such files; the limits that still hold whatever they miss are
isolation's (the child's memory, CPU and deadline).
"""

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

from PIL import Image

from .errors import CorruptImage, ImageTooLarge

Size = tuple[int, int]

# A TIFF tile may be larger than a small picture (writers use 256 or 512 px tiles whatever the size); this
# many pixels per tile are always allowed, beyond that a tile holds no more pixels than the picture.
TIFF_TILE_FLOOR_PIXELS = 4096 * 4096
# Derivations nest (a grid of overlays of grids); libheif's own limit on the depth is lower.
_MAX_DEPTH = 8
_DERIVED = (b"grid", b"iovl", b"iden")


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:,.1f}".removesuffix(".0") + " megapixels"


class _Damaged(Exception):
    """The boxes cannot be read: libheif, which decodes the file, decides about it."""


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    while start + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, start)
        header = 8
        if size == 1:
            if start + 16 > end:
                raise _Damaged
            size, header = struct.unpack_from(">Q", data, start + 8)[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            raise _Damaged
        yield kind, start + header, start + size
        start += size


@dataclass
class _Items:
    """The item structure of an HEIF's meta box, as far as these checks need it."""

    data: bytes
    primary: int | None = None
    types: dict[int, bytes] = field(default_factory=dict)
    derived_from: dict[int, list[int]] = field(default_factory=dict)  # dimg references
    sizes: dict[int, Size] = field(default_factory=dict)  # ispe
    locations: dict[int, tuple[int, list[tuple[int, int]]]] = field(default_factory=dict)  # method, extents
    idat: tuple[int, int] = (0, 0)

    def payload(self, item: int, limit: int = 64) -> bytes:
        """The first `limit` bytes of an item's data (a derived image's descriptor)."""
        method, extents = self.locations.get(item, (0, []))
        base = self.idat[0] if method == 1 else 0
        if method not in (0, 1):
            raise _Damaged
        return b"".join(self.data[base + offset : base + offset + length] for offset, length in extents)[:limit]


def _unsigned(data: bytes, at: int, size: int) -> int:
    if size not in (0, 4, 8) or at + size > len(data):
        raise _Damaged
    return int.from_bytes(data[at : at + size], "big")


def _read_iinf(items: _Items, data: bytes, start: int, end: int) -> None:
    version = data[start]
    start += 4 + (2 if version == 0 else 4)
    for kind, payload, _stop in _boxes(data, start, end):
        if kind != b"infe" or data[payload] < 2:
            continue
        wide = data[payload] >= 3
        item = _unsigned(data, payload + 4, 4) if wide else struct.unpack_from(">H", data, payload + 4)[0]
        at = payload + 4 + (4 if wide else 2) + 2
        items.types[item] = data[at : at + 4]


def _read_iref(items: _Items, data: bytes, start: int, end: int) -> None:
    wide = data[start] != 0
    id_size, id_format = (4, ">I") if wide else (2, ">H")
    for kind, payload, _ in _boxes(data, start + 4, end):
        if kind != b"dimg":
            continue
        source = struct.unpack_from(id_format, data, payload)[0]
        count = struct.unpack_from(">H", data, payload + id_size)[0]
        at = payload + id_size + 2
        items.derived_from[source] = [struct.unpack_from(id_format, data, at + i * id_size)[0] for i in range(count)]


def _read_iprp(items: _Items, data: bytes, start: int, end: int) -> None:
    properties: list[Size | None] = []
    associations: list[tuple[int, list[int]]] = []
    for kind, payload, stop in _boxes(data, start, end):
        if kind == b"ipco":
            for prop, at, _ in _boxes(data, payload, stop):
                properties.append(struct.unpack_from(">II", data, at + 4) if prop == b"ispe" else None)
        elif kind == b"ipma":
            version, flags = data[payload], int.from_bytes(data[payload + 1 : payload + 4], "big")
            at = payload + 4
            count = struct.unpack_from(">I", data, at)[0]
            at += 4
            for _ in range(count):
                if version < 1:
                    item, at = struct.unpack_from(">H", data, at)[0], at + 2
                else:
                    item, at = struct.unpack_from(">I", data, at)[0], at + 4
                n, at = data[at], at + 1
                indices = []
                for _ in range(n):
                    if flags & 1:
                        indices.append(struct.unpack_from(">H", data, at)[0] & 0x7FFF)
                        at += 2
                    else:
                        indices.append(data[at] & 0x7F)
                        at += 1
                associations.append((item, indices))
    for item, indices in associations:
        for index in indices:
            if 0 < index <= len(properties) and properties[index - 1] is not None:
                items.sizes[item] = properties[index - 1]


def _read_iloc(items: _Items, data: bytes, start: int) -> None:
    version = data[start]
    at = start + 4
    offset_size, length_size = data[at] >> 4, data[at] & 0xF
    base_size, index_size = data[at + 1] >> 4, (data[at + 1] & 0xF) if version in (1, 2) else 0
    at += 2
    count, at = (struct.unpack_from(">H", data, at)[0], at + 2) if version < 2 else (_unsigned(data, at, 4), at + 4)
    for _ in range(count):
        item, at = (struct.unpack_from(">H", data, at)[0], at + 2) if version < 2 else (_unsigned(data, at, 4), at + 4)
        method = 0
        if version in (1, 2):
            method, at = struct.unpack_from(">H", data, at)[0] & 0xF, at + 2
        at += 2  # data_reference_index
        base, at = _unsigned(data, at, base_size), at + base_size
        extent_count, at = struct.unpack_from(">H", data, at)[0], at + 2
        extents = []
        for _ in range(extent_count):
            at += index_size
            offset, at = _unsigned(data, at, offset_size), at + offset_size
            length, at = _unsigned(data, at, length_size), at + length_size
            extents.append((base + offset, length))
        items.locations[item] = (method, extents)


def _items(data: bytes) -> _Items | None:
    """The meta box's items, or None when the file has none (libheif decides about files without)."""
    for kind, start, end in _boxes(data, 0, len(data)):  # noqa: B007 - both read after the break
        if kind == b"meta":
            break
    else:
        return None
    items = _Items(data)
    for kind, payload, stop in _boxes(data, start + 4, end):
        if kind == b"pitm":
            items.primary = struct.unpack_from(">H" if data[payload] == 0 else ">I", data, payload + 4)[0]
        elif kind == b"iinf":
            _read_iinf(items, data, payload, stop)
        elif kind == b"iref":
            _read_iref(items, data, payload, stop)
        elif kind == b"iprp":
            _read_iprp(items, data, payload, stop)
        elif kind == b"iloc":
            _read_iloc(items, data, payload)
        elif kind == b"idat":
            items.idat = (payload, stop)
    return items


def _area(size: Size) -> int:
    return size[0] * size[1]


def _check_grid(items: _Items, item: int, inputs: list[int]) -> None:
    descriptor = items.payload(item)
    if len(descriptor) < 8:
        raise _Damaged
    wide = descriptor[1] & 1
    rows, columns = descriptor[2] + 1, descriptor[3] + 1
    width, height = struct.unpack_from(">II" if wide else ">HH", descriptor, 4)
    if len(inputs) != rows * columns:
        raise CorruptImage(
            f"The HEIF grid declares {rows}x{columns} tiles but names {len(inputs)}: it is damaged. Re-export the "
            "image and upload it again."
        )
    tile = max((items.sizes.get(i, (0, 0)) for i in inputs), key=_area, default=(0, 0))
    decoded = sum(_area(items.sizes.get(i, (0, 0))) for i in inputs)
    # Tiles cover the grid and may overhang it by less than a tile on the right and at the bottom.
    if decoded > (width + tile[0]) * (height + tile[1]):
        raise CorruptImage(
            f"The HEIF grid declares {width}x{height} pixels but is made of {len(inputs)} tiles of "
            f"{tile[0]}x{tile[1]} ({_megapixels(decoded)} to decode): far more than its picture. It is damaged or "
            "made to stall decoders. Re-export the image and upload it again."
        )


def _check_overlay(items: _Items, item: int, max_pixels: int) -> None:
    descriptor = items.payload(item)
    if len(descriptor) < 2:
        raise _Damaged
    wide = descriptor[1] & 1
    canvas = struct.unpack_from(">II" if wide else ">HH", descriptor, 2 + 8)
    if _area(canvas) > max_pixels:
        raise ImageTooLarge(
            f"The HEIF image is composed on a {canvas[0]}x{canvas[1]} canvas ({_megapixels(_area(canvas))}); the "
            f"limit is {_megapixels(max_pixels)}. Reduce its size and upload it again."
        )
    declared = items.sizes.get(item)
    if declared is not None and declared != canvas:
        raise CorruptImage(
            f"The HEIF image declares {declared[0]}x{declared[1]} pixels but is composed on a "
            f"{canvas[0]}x{canvas[1]} canvas: it is damaged. Re-export the image and upload it again."
        )


def _decoded_pixels(items: _Items, item: int, max_pixels: int, depth: int = 0) -> int:
    """The pixels libheif decodes to reconstruct an item, refusing what will not fit."""
    if depth > _MAX_DEPTH:
        raise CorruptImage("The HEIF image derives from itself: it is damaged. Re-export it and upload it again.")
    size = items.sizes.get(item)
    if size is not None and _area(size) > max_pixels:
        raise ImageTooLarge(
            f"A part of the HEIF image is {size[0]}x{size[1]} pixels ({_megapixels(_area(size))}); the limit is "
            f"{_megapixels(max_pixels)}. Reduce its size and upload it again."
        )
    kind = items.types.get(item)
    if kind not in _DERIVED:
        return _area(size) if size else 0
    inputs = items.derived_from.get(item, [])
    if kind == b"grid":
        _check_grid(items, item, inputs)
    elif kind == b"iovl":
        _check_overlay(items, item, max_pixels)
    return sum(_decoded_pixels(items, i, max_pixels, depth + 1) for i in inputs)


def check_heif(data: bytes, max_pixels: int) -> None:
    """Refuse an HEIF or AVIF whose primary image takes more decoding than its size and the limit allow."""
    try:
        items = _items(data)
        if items is None or items.primary is None:
            return
        decoded = _decoded_pixels(items, items.primary, max_pixels)
    except (_Damaged, struct.error, IndexError):
        return  # what these boxes mean is libheif's to say when it reads them
    # Legitimate derivations decode about their picture (a grid's overhang); a few times the limit is not one.
    if decoded > 2 * max_pixels:
        raise ImageTooLarge(
            f"The HEIF image is put together from {_megapixels(decoded)} of images; the limit is "
            f"{_megapixels(max_pixels)}. Reduce its size and upload it again."
        )


def check_tiff(im: Image.Image) -> None:
    """Refuse a TIFF whose tiles hold far more pixels than its picture (each tile is decoded whole)."""
    tags = getattr(im, "tag_v2", {})
    tile = tags.get(322), tags.get(323)  # TileWidth, TileLength
    if not all(isinstance(n, int) for n in tile):
        return  # stripped: libtiff sizes a strip by the picture's width and at most its height
    pixels = tile[0] * tile[1]
    if pixels > max(im.width * im.height, TIFF_TILE_FLOOR_PIXELS):
        raise ImageTooLarge(
            f"The TIFF stores its {im.width}x{im.height} pixels in tiles of {tile[0]}x{tile[1]} "
            f"({_megapixels(pixels)} each), more than can be decoded safely. Re-export it and upload it again."
        )
