"""What a client may ask of processing, validated before anything is stored.

Parsed strictly: names are ASCII (any case; spaces around list items are ignored), numbers are ASCII digits
(int() would also take '５０', '٥' and '5_0'), and JSON values must have the type they name."""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import InvalidOption, quoted

OUTPUT_FORMATS = ("original", "jpeg", "png", "webp", "avif")
FILTERS = ("grayscale", "sepia", "blur", "sharpen", "contour", "edge", "emboss", "invert", "autocontrast")
MAX_FILTERS = 10
OPTION_NAMES = ("format", "quality", "filters")
_QUALITY = re.compile(r"[0-9]{1,3}")
_QUALITY_RULE = "Quality must be a whole number from 1 to 100"


@dataclass(frozen=True)
class ImageOptions:
    format: str = "original"
    quality: int | None = None
    filters: tuple[str, ...] = ()

    def __post_init__(self):
        if self.format not in OUTPUT_FORMATS:
            raise InvalidOption(f"Unknown format {quoted(self.format)}; use one of: {', '.join(OUTPUT_FORMATS)}.")
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise InvalidOption(f"{_QUALITY_RULE}, not {self.quality}.")
        unknown = [name for name in self.filters if name not in FILTERS]
        if unknown:
            raise InvalidOption(f"Unknown filter {quoted(unknown[0])}; use any of: {', '.join(FILTERS)}.")
        if len(self.filters) > MAX_FILTERS:
            raise InvalidOption(f"At most {MAX_FILTERS} filters may be applied to one image.")

    @classmethod
    def from_strings(cls, values: Mapping[str, str]) -> "ImageOptions":
        """Options from query parameters or S3 object metadata (both are flat strings)."""
        _refuse_unknown(values)
        return cls(
            format=_name(values.get("format") or "original"),
            quality=_parse_quality(values.get("quality")),
            filters=_split_filters(values.get("filters") or ""),
        )

    @classmethod
    def from_json(cls, body: Mapping) -> "ImageOptions":
        """Options from the JSON body of POST /api/uploads; a member that is null is a member left out."""
        _refuse_unknown(body)
        fmt = body.get("format")
        if fmt is not None and not isinstance(fmt, str):
            raise InvalidOption("format must be a string, e.g. \"webp\".")
        quality = body.get("quality")
        if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int)):
            raise InvalidOption(f"{_QUALITY_RULE} (a JSON integer).")
        filters = body.get("filters")
        if isinstance(filters, str):
            names = _split_filters(filters)
        elif filters is None:
            names = ()
        elif isinstance(filters, list) and all(isinstance(name, str) for name in filters):
            names = tuple(_name(name) for name in filters)
        else:
            raise InvalidOption("filters must be a list of filter names, e.g. [\"sepia\", \"blur\"].")
        return cls(format=_name(fmt) if fmt is not None else "original", quality=quality, filters=names)

    def to_strings(self) -> dict[str, str]:
        """The flat form stored as S3 object metadata next to the original."""
        values = {"format": self.format, "filters": ",".join(self.filters)}
        if self.quality is not None:
            values["quality"] = str(self.quality)
        return values


def _refuse_unknown(values: Mapping) -> None:
    unknown = sorted(str(name) for name in set(values) - set(OPTION_NAMES))
    if unknown:
        raise InvalidOption(f"Unknown option {quoted(unknown[0])}; the options are format, quality and filters.")


def _name(value: str) -> str:
    # Lower-cased only when ASCII: str.lower() maps some other letters onto ASCII ones (the Kelvin sign to 'k').
    value = value.strip(" \t")
    return value.lower() if value.isascii() else value


def _parse_quality(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not _QUALITY.fullmatch(value):
        raise InvalidOption(f"{_QUALITY_RULE}, not {quoted(value)}.")
    return int(value)


def _split_filters(value: str) -> tuple[str, ...]:
    return tuple(_name(name) for name in value.split(",") if name.strip(" \t"))
