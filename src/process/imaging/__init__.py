"""Pure image processing: uploaded bytes and a Recipe in, encoded variants out."""

from .errors import CorruptImage, ImageRejected, ImageTooComplex, ImageTooLarge, ProcessingTimeout, UnsupportedImage
from .filters import FILTERS
from .isolation import ChildFailed, Limits
from .isolation import reset as reset_isolation
from .isolation import run as run_isolated
from .pipeline import build_variants
from .recipe import OUTPUT_FORMATS, Recipe, VariantSpec
from .result import ProcessedImage, SourceInfo, Variant

__all__ = [
    "ChildFailed",
    "Limits",
    "FILTERS",
    "OUTPUT_FORMATS",
    "CorruptImage",
    "ImageRejected",
    "ImageTooComplex",
    "ImageTooLarge",
    "ProcessedImage",
    "ProcessingTimeout",
    "Recipe",
    "SourceInfo",
    "UnsupportedImage",
    "Variant",
    "VariantSpec",
    "build_variants",
    "reset_isolation",
    "run_isolated",
]
