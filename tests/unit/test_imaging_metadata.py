"""No output carries metadata, and metadata_removed names what the source had."""

import pytest
from imaging import build_variants
from imaging_fixtures import METADATA_TRACES, XMP, decode, encode, exif, photo, recipe
from PIL import Image, ImageCms, PngImagePlugin

PICTURE = photo(160, 120, seed=11)
SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _assert_clean(data: bytes) -> None:
    im = decode(data)
    assert not dict(im.getexif())
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"):
        assert not im.info.get(key), key
    assert not getattr(im, "text", {})
    for trace in METADATA_TRACES:
        assert trace not in data, trace


def _full_jpeg() -> bytes:
    tags = exif(orientation=1, gps=True, camera=True, timestamps=True)
    return encode(PICTURE, "JPEG", exif=tags, xmp=XMP, comment=b"top secret comment", icc_profile=SRGB_PROFILE)


@pytest.mark.parametrize("output_format", ["original", "jpeg", "png", "webp", "avif"])
def test_jpeg_metadata_is_stripped_from_every_output_format(output_format):
    result = build_variants(_full_jpeg(), recipe(160, 64, output_format=output_format))
    assert result.metadata_removed == ("camera", "comment", "gps", "icc_profile", "timestamps", "xmp")
    for variant in result.variants:
        _assert_clean(variant.data)


@pytest.mark.parametrize(
    "tags, expected",
    [
        ({"gps": True}, ("gps",)),
        ({"camera": True}, ("camera",)),
        ({"timestamps": True}, ("timestamps",)),
        ({"other": True}, ("exif",)),
        ({"orientation": 6}, ()),
        ({"gps": True, "other": True, "camera": True}, ("camera", "exif", "gps")),
    ],
)
def test_each_exif_group_is_reported_on_its_own(tags, expected):
    data = encode(PICTURE, "JPEG", exif=exif(**tags))
    result = build_variants(data, recipe(64))
    assert result.metadata_removed == expected
    _assert_clean(result.variants[0].data)


def test_plain_image_reports_nothing_removed():
    for fmt in ("JPEG", "PNG", "WEBP", "GIF", "TIFF", "BMP"):
        assert build_variants(encode(PICTURE, fmt), recipe(64)).metadata_removed == (), fmt


def test_png_text_xmp_exif_and_profile_are_reported_and_stripped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "top secret comment")
    info.add_text("Author", "someone", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode("utf-8"))
    data = encode(PICTURE, "PNG", pnginfo=info, exif=exif(camera=True, gps=True), icc_profile=SRGB_PROFILE)
    result = build_variants(data, recipe(160, 64))
    assert result.metadata_removed == ("camera", "comment", "gps", "icc_profile", "xmp")
    for variant in result.variants:
        _assert_clean(variant.data)


@pytest.mark.parametrize("fmt", ["WEBP", "HEIF", "AVIF"])
def test_exif_and_xmp_in_other_containers(fmt):
    data = encode(PICTURE, fmt, exif=exif(camera=True, timestamps=True), xmp=XMP)
    result = build_variants(data, recipe(64, output_format="webp"))
    assert result.metadata_removed == ("camera", "timestamps", "xmp")
    _assert_clean(result.variants[0].data)


def test_tiff_layout_tags_are_not_reported_but_camera_tags_are():
    assert build_variants(encode(PICTURE, "TIFF"), recipe(64)).metadata_removed == ()
    data = encode(PICTURE, "TIFF", exif=exif(camera=True))
    assert build_variants(data, recipe(64)).metadata_removed == ("camera",)


def test_gif_comment_is_reported_and_stripped():
    data = encode(PICTURE, "GIF", comment=b"top secret comment")
    result = build_variants(data, recipe(64))
    assert result.metadata_removed == ("comment",)
    _assert_clean(result.variants[0].data)


def test_animated_outputs_are_clean():
    frames = [PICTURE, PICTURE.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], exif=exif(gps=True), xmp=XMP)
    result = build_variants(data, recipe(64))
    assert result.metadata_removed == ("gps", "xmp")
    _assert_clean(result.variants[0].data)


def test_unparseable_icc_profile_is_dropped_and_reported():
    data = encode(PICTURE, "JPEG", icc_profile=b"not an icc profile at all" * 10)
    result = build_variants(data, recipe(64))
    assert result.metadata_removed == ("icc_profile",)
    _assert_clean(result.variants[0].data)
