"""Name the kinds of metadata a source carries; no output ever carries any of them."""

from PIL import Image

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_XMP_TAG = 0x02BC

_CAMERA = {
    0x010F,  # Make
    0x0110,  # Model
    0x927C,  # MakerNote
    0xA430,  # CameraOwnerName
    0xA431,  # BodySerialNumber
    0xA432,  # LensSpecification
    0xA433,  # LensMake
    0xA434,  # LensModel
    0xA435,  # LensSerialNumber
}
_TIMESTAMPS = {
    0x0132,  # DateTime
    0x9003,  # DateTimeOriginal
    0x9004,  # DateTimeDigitized
    0x9010,  # OffsetTime
    0x9011,  # OffsetTimeOriginal
    0x9012,  # OffsetTimeDigitized
    0x9290,  # SubSecTime
    0x9291,  # SubSecTimeOriginal
    0x9292,  # SubSecTimeDigitized
}
# Tags that describe how the pixels are stored, point at other IFDs, or are reported under
# their own name. Every TIFF has the layout tags, so they are not "exif" worth reporting;
# Orientation is applied to the pixels rather than dropped.
_NOT_EXIF = {
    *range(0x00FE, 0x010B),  # subfile type, dimensions, bits, compression, photometric, fill order
    *range(0x0111, 0x011D),  # strips, orientation, samples, min/max, resolution, planar config
    0x0128,  # ResolutionUnit
    0x013D,  # Predictor
    0x0140,  # ColorMap
    *range(0x0142, 0x0146),  # tiles
    0x0152,  # ExtraSamples
    0x0153,  # SampleFormat
    0x015B,  # JPEGTables
    *range(0x0201, 0x0203),  # JPEG interchange format
    *range(0x0211, 0x0215),  # YCbCr coefficients, subsampling, positioning, reference
    _EXIF_IFD,
    _GPS_IFD,
    0xA005,  # Interoperability IFD
    _XMP_TAG,
    0x8773,  # ICC profile
}


def _exif_kinds(im: Image.Image) -> set[str]:
    """The kinds found in the EXIF (or TIFF) tags."""
    exif = im.getexif()
    tags = (set(exif) | set(exif.get_ifd(_EXIF_IFD))) - _NOT_EXIF
    kinds = set()
    if exif.get_ifd(_GPS_IFD):
        kinds.add("gps")
    if tags & _CAMERA:
        kinds.add("camera")
    if tags & _TIMESTAMPS:
        kinds.add("timestamps")
    if tags - _CAMERA - _TIMESTAMPS:
        kinds.add("exif")
    if _XMP_TAG in exif:
        kinds.add("xmp")
    return kinds


def found(im: Image.Image) -> tuple[str, ...]:
    """The sorted kinds of metadata present: gps, camera, timestamps, exif, xmp, comment, icc_profile."""
    kinds = _exif_kinds(im)
    if im.info.get("xmp") or im.info.get("XML:com.adobe.xmp"):
        kinds.add("xmp")
    # PNG text chunks (tEXt, zTXt, iTXt); an XMP packet travels in one of them.
    text = set(getattr(im, "text", {})) - {"XML:com.adobe.xmp"}
    if im.info.get("comment") or text:
        kinds.add("comment")
    if im.info.get("icc_profile"):
        kinds.add("icc_profile")
    return tuple(sorted(kinds))
