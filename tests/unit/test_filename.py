"""The original's file name as it may name downloads: sanitised, carried as metadata, in a disposition."""

import pytest
from imageservice.filename import MAX_STEM_CHARS, attachment_disposition, file_stem


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


def test_attachment_disposition_ascii_and_utf8():
    assert attachment_disposition("photo-large.webp", "id-large.webp") == 'attachment; filename="photo-large.webp"'
    assert attachment_disposition("été-large.webp", "id-large.webp") == (
        "attachment; filename=\"id-large.webp\"; filename*=UTF-8''%C3%A9t%C3%A9-large.webp")
