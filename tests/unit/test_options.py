import pytest
from imageservice.errors import InvalidOption
from imageservice.options import FILTERS, ImageOptions


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


@pytest.mark.parametrize("quality", ["５０", "٥٠", "5_0", " 50", "+50", "50\n", "0050", "1e2", "²"])
def test_quality_is_ascii_digits_only(quality):
    """int() takes all of these; the API takes none of them."""
    with pytest.raises(InvalidOption):
        ImageOptions.from_strings({"quality": quality})


@pytest.mark.parametrize("body", [
    {"format": False}, {"format": 0}, {"format": ""}, {"format": ["jpeg"]}, {"filters": False}, {"filters": 0},
    {"filters": {}}, {"quality": False}, {"quality": 50.0}, {"quality": [50]},
])
def test_json_values_must_have_the_type_they_name(body):
    with pytest.raises(InvalidOption):
        ImageOptions.from_json(body)


def test_json_null_is_a_member_left_out():
    assert ImageOptions.from_json({"format": None, "quality": None, "filters": None}) == ImageOptions()


def test_only_ascii_names_are_folded():
    # 'K' here is the Kelvin sign, which str.lower() turns into an ASCII 'k'.
    with pytest.raises(InvalidOption):
        ImageOptions.from_strings({"filters": "\u212aelvin"})
    with pytest.raises(InvalidOption):
        ImageOptions.from_strings({"format": "ｊｐｅｇ"})


@pytest.mark.parametrize("values", [
    {"format": "x" * 2_000_000}, {"filters": "glitter" * 100_000}, {"x" * 100_000: "1"},
    {"quality": "9" * 100_000}, {"format": "\u202egepj\x00" + "y" * 100},
])
def test_messages_quote_a_short_sanitised_prefix_of_the_input(values):
    with pytest.raises(InvalidOption) as raised:
        ImageOptions.from_strings(values)
    message = raised.value.message
    assert len(message) < 200, message
    assert "\u202e" not in message and "\x00" not in message
