"""What a client may ask of processing, validated before anything is stored."""

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import InvalidOption

OUTPUT_FORMATS = ("original", "jpeg", "png", "webp", "avif")
FILTERS = ("grayscale", "sepia", "blur", "sharpen", "contour", "edge", "emboss", "invert", "autocontrast")
MAX_FILTERS = 10


@dataclass(frozen=True)
class ImageOptions:
    format: str = "original"
    quality: int | None = None
    filters: tuple[str, ...] = ()

    def __post_init__(self):
        if self.format not in OUTPUT_FORMATS:
            raise InvalidOption(f"Unknown format {self.format!r}; use one of: {', '.join(OUTPUT_FORMATS)}.")
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise InvalidOption(f"Quality must be a whole number from 1 to 100, not {self.quality}.")
        unknown = [name for name in self.filters if name not in FILTERS]
        if unknown:
            raise InvalidOption(f"Unknown filter {unknown[0]!r}; use any of: {', '.join(FILTERS)}.")
        if len(self.filters) > MAX_FILTERS:
            raise InvalidOption(f"At most {MAX_FILTERS} filters may be applied to one image.")

    @classmethod
    def from_strings(cls, values: Mapping[str, str]) -> "ImageOptions":
        """Options from query parameters or S3 object metadata (both are flat strings)."""
        unknown = sorted(set(values) - {"format", "quality", "filters"})
        if unknown:
            raise InvalidOption(f"Unknown option {unknown[0]!r}; the options are format, quality and filters.")
        return cls(
            format=(values.get("format") or "original").strip().lower(),
            quality=_parse_quality(values.get("quality")),
            filters=_split_filters(values.get("filters") or ""),
        )

    @classmethod
    def from_json(cls, body: Mapping) -> "ImageOptions":
        """Options from the JSON body of POST /api/uploads."""
        unknown = sorted(set(body) - {"format", "quality", "filters"})
        if unknown:
            raise InvalidOption(f"Unknown option {unknown[0]!r}; the options are format, quality and filters.")
        filters = body.get("filters") or []
        if isinstance(filters, str):
            filters = _split_filters(filters)
        if not isinstance(filters, list | tuple) or not all(isinstance(f, str) for f in filters):
            raise InvalidOption("filters must be a list of filter names.")
        quality = body.get("quality")
        if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int)):
            raise InvalidOption("quality must be a whole number from 1 to 100.")
        fmt = body.get("format") or "original"
        if not isinstance(fmt, str):
            raise InvalidOption("format must be a string.")
        return cls(format=fmt.strip().lower(), quality=quality, filters=tuple(f.strip().lower() for f in filters))

    def to_strings(self) -> dict[str, str]:
        """The flat form stored as S3 object metadata next to the original."""
        values = {"format": self.format, "filters": ",".join(self.filters)}
        if self.quality is not None:
            values["quality"] = str(self.quality)
        return values


def _parse_quality(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidOption(f"Quality must be a whole number from 1 to 100, not {value!r}.") from None


def _split_filters(value: str) -> tuple[str, ...]:
    return tuple(name.strip().lower() for name in value.split(",") if name.strip())
