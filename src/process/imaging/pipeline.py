"""build_variants: from uploaded bytes to encoded, metadata-free variants."""

from collections.abc import Callable

from PIL import Image

from . import colour, decode, encode, filters, metadata, orient, placeholder, resize
from .recipe import Recipe
from .result import ProcessedImage, SourceInfo, Variant

Size = tuple[int, int]
Finish = Callable[[Image.Image], Image.Image]


def _render(base: Image.Image, sizes: list[Size], orientation: int, finish: Finish) -> dict[Size, Image.Image]:
    """Each displayed size, resized from the smallest earlier result with headroom, else from base."""
    # Orientation and colour conversion run after the first resize, on far fewer pixels.
    done: dict[Size, Image.Image] = {}
    for size in sorted(set(sizes), key=max, reverse=True):
        parent = resize.parent(size, done.values())
        if parent is not None:
            done[size] = resize.resample(parent, size)
        else:
            done[size] = finish(resize.resample(base, orient.oriented(size, orientation)))
    return done


def _finisher(icc: bytes | None, mode: str, orientation: int) -> Finish:
    """Orientation followed by conversion to sRGB."""
    to_srgb = colour.srgb_converter(icc, mode)
    return lambda im: to_srgb(orient.apply(im, orientation))


def _still(
    base: Image.Image, sizes: list[Size], orientation: int, icc: bytes | None, fmt: str, recipe: Recipe
) -> tuple[dict[Size, bytes], Image.Image]:
    """Encoded bytes per size, and the smallest output image."""
    rendered = _render(base, sizes, orientation, _finisher(icc, base.mode, orientation))
    outputs = {size: filters.apply_filters(im, recipe.filters) for size, im in rendered.items()}
    smallest = outputs[min(outputs, key=max)]
    return {size: encode.encode(im, fmt, recipe.quality) for size, im in outputs.items()}, smallest


def _animation(
    source: Image.Image, sizes: list[Size], orientation: int, icc: bytes | None, fmt: str, recipe: Recipe
) -> tuple[dict[Size, bytes], Image.Image]:
    """Encoded animation bytes per size, and the first frame of the smallest."""
    finish = _finisher(icc, "RGBA", orientation)
    frames: dict[Size, list[Image.Image]] = {size: [] for size in sizes}
    durations = []
    for frame, duration in decode.frames(source, recipe.max_pixels):
        for size, im in _render(frame, sizes, orientation, finish).items():
            frames[size].append(filters.apply_filters(im, recipe.filters))
        durations.append(duration)
    loop = source.info.get("loop")
    smallest = frames[min(frames, key=max)][0]
    encoded = {size: encode.encode_animation(f, durations, loop, fmt, recipe.quality) for size, f in frames.items()}
    return encoded, smallest


def build_variants(data: bytes, recipe: Recipe) -> ProcessedImage:
    """Decode, bound, orient, convert to sRGB, resize, filter and encode one uploaded image."""
    source, source_format = decode.open_image(data, recipe.max_pixels, recipe.max_frames)
    stored = source.size
    animated = decode.is_animated(source, source_format)
    largest = max(spec.long_edge for spec in recipe.variants)
    first = decode.load(source, None if animated else resize.draft_size(stored, largest))
    # Metadata and palettes are parsed lazily, so damage can still surface here.
    with decode.decoding():
        orientation = orient.orientation(first)
        removed = metadata.found(first)
        base = colour.to_working_mode(first)
    icc = first.info.get("icc_profile")
    fmt = encode.output_format(source_format, recipe.output_format, colour.has_transparency(base))

    shown = orient.oriented(stored, orientation)
    sizes = [resize.fit(shown, spec.long_edge) for spec in recipe.variants]
    if animated and fmt in encode.ANIMATION_FORMATS:
        encoded, smallest = _animation(source, sizes, orientation, icc, fmt, recipe)
    else:
        encoded, smallest = _still(base, sizes, orientation, icc, fmt, recipe)

    variants = tuple(
        Variant(spec.name, size[0], size[1], fmt, encode.content_type(fmt), encode.extension(fmt), encoded[size])
        for spec, size in zip(recipe.variants, sizes, strict=True)
    )
    return ProcessedImage(
        original=SourceInfo(width=shown[0], height=shown[1], format=source_format, bytes=len(data)),
        variants=variants,
        metadata_removed=removed,
        placeholder=placeholder.blurhash(smallest),
    )
