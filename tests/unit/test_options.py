import pytest
from imageservice.errors import InvalidOption
from imageservice.options import FILTERS, OUTPUT_FORMATS, ImageOptions


def test_defaults():
    options = ImageOptions.from_strings({})
    assert options == ImageOptions(format="original", quality=None, filters=())


def test_query_values_are_normalised():
    options = ImageOptions.from_strings({"format": "WebP", "quality": "75", "filters": "grayscale, Blur,,"})
    assert options == ImageOptions(format="webp", quality=75, filters=("grayscale", "blur"))


@pytest.mark.parametrize("values, fragment", [
    ({"format": "gif"}, "Unknown format"),
    ({"format": "svg"}, "Unknown format"),
    ({"quality": "0"}, "1 to 100"),
    ({"quality": "101"}, "1 to 100"),
    ({"quality": "high"}, "whole number"),
    ({"quality": "7.5"}, "whole number"),
    ({"filters": "grayscale,vignette"}, "Unknown filter 'vignette'"),
    ({"filters": ",".join(["blur"] * 11)}, "At most"),
    ({"qualty": "80"}, "Unknown option 'qualty'"),
])
def test_invalid_query_options_are_refused_with_a_sentence(values, fragment):
    with pytest.raises(InvalidOption) as raised:
        ImageOptions.from_strings(values)
    assert fragment in raised.value.message
    assert raised.value.status == 400 and raised.value.code == "invalid_option"


def test_json_options():
    options = ImageOptions.from_json({"format": "jpeg", "quality": 90, "filters": ["sepia", "sharpen"]})
    assert options == ImageOptions(format="jpeg", quality=90, filters=("sepia", "sharpen"))


@pytest.mark.parametrize("body", [
    {"quality": "90"}, {"quality": True}, {"quality": 9.5}, {"filters": [1]}, {"filters": {"a": 1}},
    {"format": 3}, {"extra": 1},
])
def test_invalid_json_options(body):
    with pytest.raises(InvalidOption):
        ImageOptions.from_json(body)


@pytest.mark.parametrize("options", [
    ImageOptions(), ImageOptions("png", 10, ("invert",)), ImageOptions("avif", 100, tuple(FILTERS[:5])),
])
def test_metadata_round_trip(options):
    assert ImageOptions.from_strings(options.to_strings()) == options


def test_allow_lists_match_the_imaging_core():
    import imaging

    assert tuple(OUTPUT_FORMATS) == tuple(imaging.OUTPUT_FORMATS)
    assert tuple(FILTERS) == tuple(imaging.FILTERS)
