"""Which image type some bytes are, decided by their signature and never by a header."""

IMAGE_CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "heif": "image/heif",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
}
ACCEPTED_CONTENT_TYPES = frozenset(IMAGE_CONTENT_TYPES.values()) | {"image/heic", "image/jpg", "image/x-ms-bmp"}

_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
# 12 to 124 are the sizes of the DIB headers Windows and OS/2 bitmaps use; "BM" alone is too weak.
_BMP_DIB_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}


def sniff_image_type(data: bytes) -> str | None:
    """The accepted image type of `data` ("jpeg", "png", ...), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:2] == b"BM" and len(data) >= 18 and int.from_bytes(data[14:18], "little") in _BMP_DIB_HEADER_SIZES:
        return "bmp"
    if data[4:8] == b"ftyp":
        return _sniff_iso_media(data)
    return None


def _sniff_iso_media(data: bytes) -> str | None:
    box_size = int.from_bytes(data[:4], "big")
    if not 16 <= box_size <= min(len(data), 4096):
        return None
    brands = {data[8:12]} | {data[i:i + 4] for i in range(16, box_size - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIF_BRANDS:
        return "heif"
    return None
