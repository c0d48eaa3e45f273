"""Recipe validation and the public surface of the imaging package."""

import dataclasses

import imaging
import pytest
from imaging import FILTERS, OUTPUT_FORMATS, Recipe, VariantSpec

LARGE = (VariantSpec("large", 2048),)


def test_public_api_is_exactly_the_documented_names():
    assert sorted(imaging.__all__) == sorted(
        [
            "FILTERS",
            "OUTPUT_FORMATS",
            "ChildFailed",
            "CorruptImage",
            "ImageRejected",
            "ImageTooComplex",
            "ImageTooLarge",
            "Limits",
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
    )


def test_defaults():
    recipe = Recipe(variants=LARGE)
    assert (recipe.output_format, recipe.quality, recipe.filters) == ("original", 82, ())
    assert (recipe.max_pixels, recipe.max_frames) == (50_000_000, 300)


def test_recipe_is_frozen_and_hashable():
    recipe = Recipe(variants=LARGE, filters=("blur",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.quality = 10  # type: ignore[misc]
    assert hash(recipe) == hash(Recipe(variants=LARGE, filters=("blur",)))


@pytest.mark.parametrize(
    "changes",
    [
        {"variants": ()},
        {"variants": [VariantSpec("large", 2048)]},
        {"variants": (("large", 2048),)},
        {"variants": (VariantSpec("a", 10), VariantSpec("a", 20))},
        {"output_format": "gif"},
        {"output_format": "JPEG"},
        {"quality": 0},
        {"quality": 101},
        {"quality": 80.5},
        {"quality": True},
        {"filters": ("blur", "posterize")},
        {"filters": ["blur"]},
        {"max_pixels": 0},
        {"max_frames": 0},
    ],
)
def test_invalid_recipes_raise_value_error(changes):
    with pytest.raises(ValueError):
        Recipe(**({"variants": LARGE} | changes))


@pytest.mark.parametrize("name, edge", [("", 100), ("thumb", 0), ("thumb", -5), ("thumb", 10.5)])
def test_invalid_variant_specs_raise_value_error(name, edge):
    with pytest.raises(ValueError):
        VariantSpec(name, edge)


def test_every_listed_format_and_filter_is_accepted():
    for fmt in OUTPUT_FORMATS:
        Recipe(variants=LARGE, output_format=fmt)
    Recipe(variants=LARGE, filters=FILTERS, quality=1)
    Recipe(variants=LARGE, quality=100)


@pytest.mark.parametrize(
    "cls, code",
    [
        (imaging.ImageTooLarge, "image_too_large"),
        (imaging.CorruptImage, "corrupt_image"),
        (imaging.UnsupportedImage, "unsupported_image"),
        (imaging.ImageTooComplex, "image_too_complex"),
        (imaging.ProcessingTimeout, "processing_timeout"),
    ],
)
def test_rejections_carry_code_and_message(cls, code):
    error = cls("Do something about it.")
    assert isinstance(error, imaging.ImageRejected)
    assert (error.code, error.message, str(error)) == (code, "Do something about it.", "Do something about it.")
