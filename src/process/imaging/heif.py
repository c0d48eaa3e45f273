"""A HEIC's luma and chroma planes straight from libheif, for the planar path.

HEVC stores luma and half-size chroma, which is what planar.Planes hold. pillow-heif only hands over RGB:
libheif upsamples the chroma and converts every pixel, and the planar path then takes luma and chroma
back out of the full-size RGB (a 12 MP photo: about 110 ms of the 1.7 s decode here, and one 36 MB
buffer). pillow-heif's extension links libheif, so its C API is reached through the extension's own
symbols (no second copy of the library, and the same security limits and decoder). Any file this cannot
take returns None and is decoded through Pillow as before; alpha and monochrome HEICs never come here.
"""

import ctypes
from functools import cache

import _pillow_heif
from PIL import Image

from .planar import Planes

_COLORSPACE_YCBCR = 0
_CHROMA_420 = 1
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


class _DecodingOptions(ctypes.Structure):
    # The leading fields of heif_decoding_options (heif_decoding.h, stable since version 2); libheif
    # allocates the whole structure, this only reaches convert_hdr_to_8bit.
    _fields_ = [
        ("version", ctypes.c_uint8),
        ("ignore_transformations", ctypes.c_uint8),
        ("start_progress", ctypes.c_void_p),
        ("on_progress", ctypes.c_void_p),
        ("end_progress", ctypes.c_void_p),
        ("progress_user_data", ctypes.c_void_p),
        ("convert_hdr_to_8bit", ctypes.c_uint8),
    ]


_P = ctypes.c_void_p
_SIGNATURES = {
    "heif_context_alloc": (_P, []),
    "heif_context_free": (None, [_P]),
    "heif_context_read_from_memory_without_copy": (_Error, [_P, ctypes.c_char_p, ctypes.c_size_t, _P]),
    "heif_context_set_max_decoding_threads": (None, [_P, ctypes.c_int]),
    "heif_context_get_primary_image_handle": (_Error, [_P, ctypes.POINTER(_P)]),
    "heif_image_handle_release": (None, [_P]),
    "heif_decoding_options_alloc": (ctypes.POINTER(_DecodingOptions), []),
    "heif_decoding_options_free": (None, [ctypes.POINTER(_DecodingOptions)]),
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


def _check(error: _Error) -> None:
    if error.code:
        # RuntimeError is how the pillow-heif binding reports undecodable data too; decode.decoding maps it.
        raise RuntimeError((error.message or b"libheif error").decode(errors="replace"))


def _nclx(lib: ctypes.CDLL, image: int) -> tuple[int, bool]:
    """The decoded image's matrix coefficients and whether its samples use the full range."""
    profile = ctypes.POINTER(_Nclx)()
    _check(lib.heif_image_get_nclx_color_profile(image, ctypes.byref(profile)))
    try:
        return profile.contents.matrix_coefficients, bool(profile.contents.full_range_flag)
    finally:
        lib.heif_nclx_color_profile_free(profile)


def _plane(lib: ctypes.CDLL, image: int, channel: int) -> Image.Image:
    stride = ctypes.c_int()
    pointer = lib.heif_image_get_plane_readonly(image, channel, ctypes.byref(stride))
    size = lib.heif_image_get_width(image, channel), lib.heif_image_get_height(image, channel)
    if not pointer or min(size) < 1:
        raise RuntimeError("libheif returned no image plane")
    return Image.frombytes("L", size, ctypes.string_at(pointer, stride.value * size[1]), "raw", "L", stride.value)


def _decoded_planes(lib: ctypes.CDLL, image: int) -> Planes | None:
    """The planes of a decoded image when they are 4:2:0 in Pillow's YCbCr, else None."""
    # libheif 1.23 converts a BT.709 or limited-range stream to its default, full-range BT.601, when asked
    # for YCbCr (tests/unit/test_imaging_heic.py checks the colours); this guards against a version that would not.
    matrix, full_range = _nclx(lib, image)
    if lib.heif_image_get_chroma_format(image) != _CHROMA_420 or matrix not in _PILLOW_MATRICES or not full_range:
        return None
    return Planes(*(_plane(lib, image, channel) for channel in _CHANNELS))


def load_planes(data: bytes, threads: int) -> Planes | None:
    """The primary image's luma and half-size chroma, 8 bits each and turned as libheif displays it.

    Higher bit depths are narrowed to 8 bits by libheif while decoding, on the planes, once. None when
    libheif's API is out of reach or the image is not 4:2:0 YCbCr in Pillow's matrix.
    """
    lib = _libheif()
    if lib is None:
        return None
    context = lib.heif_context_alloc()
    handle, image = _P(), _P()
    options = lib.heif_decoding_options_alloc()
    try:
        # Grid images (phones write 512 px tiles) decode their tiles in parallel on this many threads.
        lib.heif_context_set_max_decoding_threads(context, threads)
        _check(lib.heif_context_read_from_memory_without_copy(context, data, len(data), None))
        _check(lib.heif_context_get_primary_image_handle(context, ctypes.byref(handle)))
        options.contents.convert_hdr_to_8bit = 1
        _check(lib.heif_decode_image(handle, ctypes.byref(image), _COLORSPACE_YCBCR, _CHROMA_420, options))
        planes = _decoded_planes(lib, image)
    finally:
        if image:
            lib.heif_image_release(image)
        if handle:
            lib.heif_image_handle_release(handle)
        lib.heif_decoding_options_free(options)
        lib.heif_context_free(context)
    return planes
