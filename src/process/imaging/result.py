"""What build_variants returns."""

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceInfo:
    """The uploaded image as decoded; width and height are after EXIF orientation."""

    width: int
    height: int
    format: str
    bytes: int


@dataclass(frozen=True)
class Variant:
    """One encoded output image."""

    name: str
    width: int
    height: int
    format: str
    content_type: str
    extension: str
    data: bytes


@dataclass(frozen=True)
class ProcessedImage:
    """The source description, its variants in recipe order, and what was stripped."""

    original: SourceInfo
    variants: tuple[Variant, ...]
    metadata_removed: tuple[str, ...]
    placeholder: str
