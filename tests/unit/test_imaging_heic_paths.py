"""The HEIC plane path against the reference decoder, over a matrix of generated HEIFs.

heif.load_planes takes only 8-bit 4:2:0 full-range BT.601 with an nclx profile, even sizes and no alpha;
everything else falls back to pillow-heif's RGB decode. Whichever path an image takes, its variants must
look like what pillow-heif gives a naive caller (`Image.open(...).convert("RGB")`, with an embedded ICC
profile converted to sRGB): same orientation, SSIM >= 0.98, the same colours, and the same outcome.
"""

import io

import numpy as np
import pillow_heif
import pytest
from imaging import ImageRejected, build_variants
from imaging import heif as heif_module
from imaging_fixtures import (
    block_difference,
    decode,
    exif,
    luma,
    photo,
    recipe,
    record_plane_path,
    stored_for,
    swapped_primaries_profile,
)
from PIL import Image, ImageCms
from skimage.metrics import structural_similarity

SIZE = (640, 480)
ODD = (641, 481)

# name: (how the HEIF is written, whether the plane path takes it[, the code when both refuse it])
CASES = {
    "bt601-full": ({}, True),
    "turned-irot-6": ({"orientation": 6}, True),
    "mirrored-imir-5": ({"orientation": 5}, True),
    "turned-180": ({"orientation": 3}, True),
    "odd-size": ({"size": ODD}, False),
    "odd-size-turned-8": ({"size": ODD, "orientation": 8}, False),
    "bt709": ({"matrix_coefficients": 1}, False),
    "bt2020": ({"matrix_coefficients": 9}, False),
    # libheif has no conversion from ICtCp: unreadable for the reference decoder too, and said so.
    "matrix-14-ictcp": ({"patch_matrix": 14}, False, "unsupported_image"),
    "limited-range": ({"full_range_flag": 0}, False),
    "no-nclx": ({"save_nclx_profile": False}, False),
    "icc-profile": ({"icc_profile": "swapped"}, False),
    "icc-profile-turned-6": ({"icc_profile": "swapped", "orientation": 6}, False),
    "chroma-422": ({"chroma": 422}, False),
    "chroma-444": ({"chroma": 444}, False),
    "alpha": ({"mode": "RGBA"}, False),
    "monochrome": ({"mode": "L"}, False),
    "10-bit": ({"bits": 10}, False),
    "12-bit": ({"bits": 12}, False),
    "10-bit-444-turned-7": ({"bits": 10, "chroma": 444, "orientation": 7}, False),
}


def _heif(size=SIZE, mode="RGB", bits=8, orientation=1, patch_matrix=None, icc_profile=None, **options) -> bytes:
    """An HEIF of a photo that displays upright at `size` once its irot/imir (from `orientation`) is applied."""
    picture = stored_for(photo(*size, seed=3), orientation)
    if mode != "RGB":
        picture = picture.convert(mode)
    if bits == 8:
        heif = pillow_heif.from_pillow(picture)
    else:
        wide = np.asarray(picture, dtype=np.uint16) * 257
        heif = pillow_heif.from_bytes(mode=f"{mode};16", size=picture.size, data=wide.tobytes())
    if orientation != 1:
        options["exif"] = exif(orientation=orientation).tobytes()  # pillow-heif writes it as irot/imir
    if icc_profile == "swapped":
        options["icc_profile"] = swapped_primaries_profile()
    saved_12 = pillow_heif.options.SAVE_HDR_TO_12_BIT
    pillow_heif.options.SAVE_HDR_TO_12_BIT = bits == 12
    try:
        buffer = io.BytesIO()
        heif.save(buffer, quality=92, enc_params={"preset": "ultrafast"}, **options)
    finally:
        pillow_heif.options.SAVE_HDR_TO_12_BIT = saved_12
    data = buffer.getvalue()
    if patch_matrix is not None:
        # libheif cannot write these matrices; the nclx box says so after the fact (the stream is BT.601).
        at = data.index(b"colrnclx") + 8 + 4
        data = data[:at] + patch_matrix.to_bytes(2, "big") + data[at + 2 :]
    return data


def _reference(data: bytes) -> Image.Image:
    """What pillow-heif gives a naive caller, in sRGB."""
    im = Image.open(io.BytesIO(data))
    im.load()
    icc = im.info.get("icc_profile")
    rgb = im.convert("RGB")
    if icc:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        rgb = ImageCms.profileToProfile(rgb, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    return rgb


@pytest.fixture
def plane_path(monkeypatch):
    """Whether each HEIC came back as planes from heif.load_planes."""
    return record_plane_path(monkeypatch)


@pytest.mark.parametrize("name", CASES)
def test_plane_path_or_fallback_matches_the_reference_decoder(name, plane_path):
    options, fast = CASES[name][:2]
    data = _heif(**options)
    try:
        reference = _reference(data)
    except (OSError, ValueError, RuntimeError, SyntaxError):
        reference = None
    try:
        result = build_variants(data, recipe(320, quality=100))
    except ImageRejected as rejection:
        # Same outcome: refused only where the reference decoder cannot read it either.
        assert reference is None, (name, rejection.code, rejection.message)
        assert plane_path in ([], [False])
        assert rejection.code == (CASES[name][2] if len(CASES[name]) > 2 else "corrupt_image"), rejection.message
        return
    assert reference is not None, name
    assert plane_path == [True] if fast else plane_path in ([], [False]), name  # [] : alpha, grey never ask
    out = decode(result.variants[0].data).convert("RGB")
    # Same orientation: the displayed size, and the picture (a turned or mirrored one scores far lower).
    assert (result.original.width, result.original.height) == reference.size
    expected = reference.resize(out.size, Image.Resampling.LANCZOS)
    score = structural_similarity(luma(out), luma(expected), data_range=255)
    assert score >= 0.98, (name, score)
    assert block_difference(out, expected) < 2.0, name


def test_a_wrong_orientation_would_fail_the_comparison():
    # The comparison can fail: the same picture mirrored scores well under the floor.
    data = _heif()
    out = decode(build_variants(data, recipe(320, quality=100)).variants[0].data).convert("RGB")
    expected = _reference(data).transpose(Image.Transpose.FLIP_LEFT_RIGHT).resize(out.size, Image.Resampling.LANCZOS)
    assert structural_similarity(luma(out), luma(expected), data_range=255) < 0.9


def test_a_fast_path_failure_falls_back(monkeypatch, plane_path):
    # libheif failing on the plane path (here: every call to its decoder) is not the image's fault.
    data = _heif()
    lib = heif_module._libheif()
    real_decode = lib.heif_decode_image

    def failing(*args):
        error = heif_module._Error()
        error.code, error.message = 4, b"Unsupported feature: Unsupported color conversion"
        return error

    monkeypatch.setattr(lib, "heif_decode_image", failing)
    try:
        result = build_variants(data, recipe(320))
    finally:
        monkeypatch.setattr(lib, "heif_decode_image", real_decode)
    assert plane_path == [False]
    assert result.original.format == "heif"
