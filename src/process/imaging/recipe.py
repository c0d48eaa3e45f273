"""What to produce: the frozen options handed to build_variants."""

from dataclasses import dataclass

from .filters import FILTERS

# fallback: JPEG, or PNG for an image with transparency (what every browser shows; GET /img/... with
# format auto for a browser that names neither AVIF nor WebP).
OUTPUT_FORMATS: tuple[str, ...] = ("original", "jpeg", "png", "webp", "avif", "fallback")


@dataclass(frozen=True)
class VariantSpec:
    """One output size, named by its long edge in pixels."""

    name: str
    long_edge: int

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("variant name must not be empty")
        if not isinstance(self.long_edge, int) or self.long_edge < 1:
            raise ValueError(f"variant {self.name!r}: long_edge must be a positive integer")


@dataclass(frozen=True)
class Recipe:
    """Variants, output format, quality, filters and decode limits for one image."""

    variants: tuple[VariantSpec, ...]
    output_format: str = "original"
    quality: int = 82
    filters: tuple[str, ...] = ()
    max_pixels: int = 50_000_000
    max_frames: int = 300
    # CPU cores the caller has for this image: more than one decodes and encodes on that many threads.
    threads: int = 1

    def __post_init__(self) -> None:
        # Callers validate user input earlier; this guards the library's own invariants.
        if not isinstance(self.variants, tuple) or not self.variants:
            raise ValueError("variants must be a non-empty tuple of VariantSpec")
        if not all(isinstance(v, VariantSpec) for v in self.variants):
            raise ValueError("variants must be VariantSpec instances")
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"variant names must be unique: {names}")
        if self.output_format not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {self.output_format!r}; expected one of {OUTPUT_FORMATS}")
        if isinstance(self.quality, bool) or not isinstance(self.quality, int) or not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be an integer from 1 to 100, got {self.quality!r}")
        if not isinstance(self.filters, tuple):
            raise ValueError("filters must be a tuple of filter names")
        unknown = [f for f in self.filters if f not in FILTERS]
        if unknown:
            raise ValueError(f"unknown filters {unknown}; expected names from {FILTERS}")
        if self.max_pixels < 1 or self.max_frames < 1:
            raise ValueError("max_pixels and max_frames must be positive")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ValueError(f"threads must be a positive integer, got {self.threads!r}")
