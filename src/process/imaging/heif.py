"""A HEIC's luma and chroma planes straight from libheif, for the planar path.

HEVC stores luma and half-size chroma, which is what planar.Planes hold. pillow-heif only hands over RGB:
libheif upsamples the chroma and converts every pixel, and the planar path then takes luma and chroma
back out of the full-size RGB (a 12 MP photo: about 110 ms of the 1.7 s decode here, and one 36 MB
buffer). pillow-heif's extension links libheif, so its C API is reached through the extension's own
symbols (no second copy of the library, and the same security limits and decoder).

The path takes only what it was built for: 8-bit 4:2:0 YCbCr with an nclx profile saying full-range BT.601
(what Pillow's YCbCr is), even width and height, no alpha and no ICC profile. Everything else, and any
file libheif cannot decode this way, returns None and is decoded through pillow-heif to RGB (the reference
path: ICC profiles to sRGB, other matrices and bit depths by libheif's own conversion). It never fails
an image the reference path would process.
"""

import ctypes
from functools import cache

import _pillow_heif
from PIL import Image

from .planar import Planes

_COLORSPACE_YCBCR = 0
_CHROMA_420 = 1
_PROFILE_NCLX = int.from_bytes(b"nclx", "big")  # heif_color_profile_type_nclx, a four-character code
_CHANNELS = (0, 1, 2)  # heif_channel_Y, heif_channel_Cb, heif_channel_Cr
# Full-range BT.470BG or BT.601 (H.273 matrix coefficients 5 and 6): the YCbCr Pillow (JFIF) uses.
_PILLOW_MATRICES = (5, 6)


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("subcode", ctypes.c_int), ("message", ctypes.c_char_p)]


class _Nclx(ctypes.Structure):
    # The leading fields of heif_color_profile_nclx (heif_color.h); the rest is never read.
    _fields_ = [
        ("version", ctypes.c_uint8),
        ("color_primaries", ctypes.c_int),
        ("transfer_characteristics", ctypes.c_int),
        ("matrix_coefficients", ctypes.c_int),
        ("full_range_flag", ctypes.c_uint8),
    ]


class _SecurityLimits(ctypes.Structure):
    # The leading fields of heif_security_limits (heif_security.h), versions 1 and 2.
    _fields_ = [
        ("version", ctypes.c_uint8),
        ("max_image_size_pixels", ctypes.c_uint64),
        ("max_number_of_tiles", ctypes.c_uint64),
        ("max_bayer_pattern_pixels", ctypes.c_uint32),
        ("max_items", ctypes.c_uint32),
        ("max_color_profile_size", ctypes.c_uint32),
        ("max_memory_block_size", ctypes.c_uint64),
        ("max_components", ctypes.c_uint32),
        ("max_iloc_extents_per_item", ctypes.c_uint32),
        ("max_size_entity_group", ctypes.c_uint32),
        ("max_children_per_box", ctypes.c_uint32),
        ("max_total_memory", ctypes.c_uint64),
    ]


_P = ctypes.c_void_p
_SIGNATURES = {
    "heif_get_global_security_limits": (ctypes.POINTER(_SecurityLimits), []),
    "heif_context_alloc": (_P, []),
    "heif_context_free": (None, [_P]),
    "heif_context_read_from_memory_without_copy": (_Error, [_P, ctypes.c_char_p, ctypes.c_size_t, _P]),
    "heif_context_set_max_decoding_threads": (None, [_P, ctypes.c_int]),
    "heif_context_get_primary_image_handle": (_Error, [_P, ctypes.POINTER(_P)]),
    "heif_image_handle_release": (None, [_P]),
    "heif_image_handle_get_width": (ctypes.c_int, [_P]),
    "heif_image_handle_get_height": (ctypes.c_int, [_P]),
    "heif_image_handle_has_alpha_channel": (ctypes.c_int, [_P]),
    "heif_image_handle_get_luma_bits_per_pixel": (ctypes.c_int, [_P]),
    "heif_image_handle_get_chroma_bits_per_pixel": (ctypes.c_int, [_P]),
    "heif_image_handle_get_color_profile_type": (ctypes.c_int, [_P]),
    "heif_image_handle_get_nclx_color_profile": (_Error, [_P, ctypes.POINTER(ctypes.POINTER(_Nclx))]),
    "heif_image_handle_get_preferred_decoding_colorspace": (
        _Error, [_P, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
    ),
    "heif_decode_image": (_Error, [_P, ctypes.POINTER(_P), ctypes.c_int, ctypes.c_int, _P]),
    "heif_image_release": (None, [_P]),
    "heif_image_get_chroma_format": (ctypes.c_int, [_P]),
    "heif_image_get_nclx_color_profile": (_Error, [_P, ctypes.POINTER(ctypes.POINTER(_Nclx))]),
    "heif_nclx_color_profile_free": (None, [ctypes.POINTER(_Nclx)]),
    "heif_image_get_width": (ctypes.c_int, [_P, ctypes.c_int]),
    "heif_image_get_height": (ctypes.c_int, [_P, ctypes.c_int]),
    "heif_image_get_plane_readonly": (ctypes.c_void_p, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
}


@cache
def _libheif() -> ctypes.CDLL | None:
    """libheif's C API as pillow-heif's extension links it, or None when a symbol is missing."""
    try:
        lib = ctypes.CDLL(_pillow_heif.__file__)
        for name, (restype, argtypes) in _SIGNATURES.items():
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
    except (OSError, AttributeError):
        return None
    return lib


# libheif's limits, from the pixel limit: an image (a tile, a grid, an overlay's canvas) twice the limit, room
# for the coding units an encoder pads a picture at the limit to; and memory at most this many bytes per pixel
# of the limit in one block and in all (a 10-bit 4:2:0 picture and its 16-bit RGB conversion: 9 bytes).
_IMAGE_PIXELS_PER_LIMIT = 2
_BLOCK_BYTES_PER_PIXEL = 8
_TOTAL_BYTES_PER_PIXEL = 16


def limit_libheif(max_pixels: int) -> None:
    """Set libheif's security limits from the pixel limit, for every context made from now on.

    libheif copies its global limits into each new context; pillow-heif makes its own contexts and offers no
    way to set theirs, so the global limits are changed in place (the structure is writable; the API hands
    it out as const). Process-wide, as Pillow's MAX_IMAGE_PIXELS is, and every call carries the same limit.
    """
    lib = _libheif()
    if lib is None:
        return
    limits = lib.heif_get_global_security_limits().contents
    limits.max_image_size_pixels = _IMAGE_PIXELS_PER_LIMIT * max_pixels
    limits.max_memory_block_size = _BLOCK_BYTES_PER_PIXEL * max_pixels
    if limits.version >= 2:
        limits.max_total_memory = _TOTAL_BYTES_PER_PIXEL * max_pixels


def _check(error: _Error) -> None:
    if error.code:
        # RuntimeError, as the pillow-heif binding reports undecodable data; load_planes falls back on it.
        raise RuntimeError((error.message or b"libheif error").decode(errors="replace"))


def _nclx(lib: ctypes.CDLL, getter, item: int) -> tuple[int, bool] | None:
    """The matrix coefficients of an image or handle and whether its samples use the full range; None when it
    has no nclx profile (colour given by an ICC profile, or not at all)."""
    profile = ctypes.POINTER(_Nclx)()
    if getter(item, ctypes.byref(profile)).code or not profile:
        return None
    try:
        return profile.contents.matrix_coefficients, bool(profile.contents.full_range_flag)
    finally:
        lib.heif_nclx_color_profile_free(profile)


def _pillow_ycbcr(nclx: tuple[int, bool] | None) -> bool:
    return nclx is not None and nclx[0] in _PILLOW_MATRICES and nclx[1]


def _expected(lib: ctypes.CDLL, handle: int) -> bool:
    """Whether the primary image, from its header, is what the plane path was built for."""
    if lib.heif_image_handle_get_color_profile_type(handle) != _PROFILE_NCLX:
        return False  # an ICC profile, or no colour description: the reference path converts it
    if not _pillow_ycbcr(_nclx(lib, lib.heif_image_handle_get_nclx_color_profile, handle)):
        return False
    if lib.heif_image_handle_has_alpha_channel(handle):
        return False
    if lib.heif_image_handle_get_luma_bits_per_pixel(handle) != 8:
        return False
    if lib.heif_image_handle_get_chroma_bits_per_pixel(handle) != 8:
        return False
    # Odd sizes: the half-size chroma of a turned or cropped odd picture does not line up with its luma.
    if lib.heif_image_handle_get_width(handle) % 2 or lib.heif_image_handle_get_height(handle) % 2:
        return False
    colorspace, chroma = ctypes.c_int(), ctypes.c_int()
    if lib.heif_image_handle_get_preferred_decoding_colorspace(handle, ctypes.byref(colorspace),
                                                              ctypes.byref(chroma)).code:
        return False
    return colorspace.value == _COLORSPACE_YCBCR and chroma.value == _CHROMA_420


def _plane(lib: ctypes.CDLL, image: int, channel: int) -> Image.Image:
    stride = ctypes.c_int()
    pointer = lib.heif_image_get_plane_readonly(image, channel, ctypes.byref(stride))
    size = lib.heif_image_get_width(image, channel), lib.heif_image_get_height(image, channel)
    if not pointer or min(size) < 1:
        raise RuntimeError("libheif returned no image plane")
    return Image.frombytes("L", size, ctypes.string_at(pointer, stride.value * size[1]), "raw", "L", stride.value)


def _decoded_planes(lib: ctypes.CDLL, image: int) -> Planes | None:
    """The planes of a decoded image when they are 4:2:0 in Pillow's YCbCr, else None."""
    # The header said so already; this guards against a libheif that would hand over something else.
    if lib.heif_image_get_chroma_format(image) != _CHROMA_420:
        return None
    if not _pillow_ycbcr(_nclx(lib, lib.heif_image_get_nclx_color_profile, image)):
        return None
    return Planes(*(_plane(lib, image, channel) for channel in _CHANNELS))


def load_planes(data: bytes, threads: int) -> Planes | None:
    """The primary image's luma and half-size chroma, turned as libheif displays it (irot, imir).

    None when libheif's API is out of reach, the image is not what this path expects (see the module's
    docstring) or libheif cannot decode it this way: the caller then decodes it through pillow-heif, which
    reports damage as it always has.
    """
    lib = _libheif()
    if lib is None:
        return None
    context = lib.heif_context_alloc()
    handle, image = _P(), _P()
    try:
        # Grid images (phones write 512 px tiles) decode their tiles in parallel on this many threads.
        lib.heif_context_set_max_decoding_threads(context, threads)
        _check(lib.heif_context_read_from_memory_without_copy(context, data, len(data), None))
        _check(lib.heif_context_get_primary_image_handle(context, ctypes.byref(handle)))
        if not _expected(lib, handle):
            return None
        _check(lib.heif_decode_image(handle, ctypes.byref(image), _COLORSPACE_YCBCR, _CHROMA_420, None))
        return _decoded_planes(lib, image)
    except RuntimeError:
        return None
    finally:
        if image:
            lib.heif_image_release(image)
        if handle:
            lib.heif_image_handle_release(handle)
        lib.heif_context_free(context)
