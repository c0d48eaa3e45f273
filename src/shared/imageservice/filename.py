"""The original's file name, kept only to name downloads: sanitised, never part of a key.

It travels as S3 user metadata on the original (imageservice.records: percent-encoded, since metadata
reaches S3 as HTTP headers), into the manifest's `original.name`, and out as the pre-signed GET's
Content-Disposition.
"""

import re
import unicodedata
from urllib.parse import quote

MAX_STEM_CHARS = 80

# Path separators, characters Windows refuses in names, quotes and header separators.
_UNSAFE = re.compile(r'[<>:"/\\|?*;\']+')
# Controls, invisible format characters (bidi overrides that disguise "gpj.exe"), surrogates, unassigned.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_SPACES = re.compile(r"\s+")
_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,5}$")


def file_stem(name: object) -> str | None:
    """A safe stem for download names ("My photo" from "C:\\fakepath\\My photo.JPG"), or None."""
    if not isinstance(name, str):
        return None
    base = re.split(r"[/\\]", name)[-1]
    # Invisible characters become "?", so a run of them and unsafe characters turns into one "_" below.
    base = "".join("?" if unicodedata.category(c) in _INVISIBLE_CATEGORIES else c for c in base)
    base = _EXTENSION.sub("", unicodedata.normalize("NFC", base))
    stem = _SPACES.sub(" ", _UNSAFE.sub("_", base)).strip(" ._-")
    # Cut on a character, never inside a UTF-8 sequence: the stem is text, the encoding comes later.
    stem = stem[:MAX_STEM_CHARS].rstrip(" ._-")
    return stem or None


def attachment_disposition(filename: str, ascii_fallback: str) -> str:
    """`attachment` naming `filename`: as it is when ASCII, else `ascii_fallback` for old clients and the
    exact UTF-8 name in `filename*` (RFC 6266, RFC 5987), which every current browser prefers."""
    if filename.isascii():
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
