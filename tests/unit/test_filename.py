"""The original's file name as it may name downloads: sanitised, carried as metadata, in a disposition."""

import pytest
from imageservice.filename import MAX_STEM_CHARS, attachment_disposition, file_stem, from_metadata, to_metadata


@pytest.mark.parametrize("name, stem", [
    ("photo.jpg", "photo"),
    ("IMG 0001.HEIC", "IMG 0001"),
    ("C:\\fakepath\\My photo.JPG", "My photo"),
    ("../../etc/passwd", "passwd"),
    ("holiday\n\"beach\".png", "holiday_beach"),
    ("\u202eevil\u202dgpj.exe", "evil_gpj"),  # a bidi override must not disguise the name
    ("été à Zürich.webp", "été à Zürich"),
    ("photo.tar.gz", "photo.tar"),
    ("a;b=c", "a_b=c"),
    ("  ..hidden  ", "hidden"),
    (".jpg", None),
    ("", None),
    ("///", None),
    (None, None),
    (42, None),
])
def test_file_stem(name, stem):
    assert file_stem(name) == stem


def test_a_long_name_is_cut_to_whole_characters():
    stem = file_stem("é" * 500 + ".png")
    assert stem == "é" * MAX_STEM_CHARS


def test_metadata_round_trip_is_ascii_and_sanitised_again():
    value = to_metadata("été à Zürich")
    assert value.isascii()
    assert from_metadata({"original-name": value}) == "été à Zürich"
    # Metadata is whatever the uploader's POST carried: read back, it is sanitised again.
    assert from_metadata({"original-name": "..%2Fx%0Ay.png"}) == "x_y"
    assert from_metadata({}) is None


def test_attachment_disposition_ascii_and_utf8():
    assert attachment_disposition("photo-large.webp", "id-large.webp") == 'attachment; filename="photo-large.webp"'
    assert attachment_disposition("été-large.webp", "id-large.webp") == (
        "attachment; filename=\"id-large.webp\"; filename*=UTF-8''%C3%A9t%C3%A9-large.webp")
