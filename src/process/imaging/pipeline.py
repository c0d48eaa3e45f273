"""build_variants: from uploaded bytes to encoded, metadata-free variants."""

from collections.abc import Callable

from PIL import Image

from . import (
    animation,
    budget,
    colour,
    completeness,
    decode,
    encode,
    filters,
    metadata,
    orient,
    placeholder,
    planar,
    resize,
)
from .planar import Planes
from .recipe import Recipe
from .result import ProcessedImage, SourceInfo, Variant

Size = tuple[int, int]
Picture = Image.Image | Planes
Finish = Callable[[Picture], Picture]


def _render(base: Picture, sizes: list[Size], orientation: int, finish: Finish) -> dict[Size, Picture]:
    """Each displayed size, resized from the smallest earlier result with headroom, else from base."""
    # Orientation and colour conversion run after the first resize, on far fewer pixels.
    done: dict[Size, Picture] = {}
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


def _joiner(icc: bytes | None, rgb: bool) -> Callable[[Planes], Image.Image]:
    """Planes to one image: YCbCr for the JPEG encoder, RGB in sRGB when a profile, filter or format needs it."""
    to_srgb = colour.srgb_converter(icc, "RGB")
    if to_srgb is colour.unchanged and not rgb:
        return lambda planes: planes.image()
    return lambda planes: to_srgb(planes.image().convert("RGB"))


def _still(
    base: Picture,
    sizes: list[Size],
    orientation: int,
    icc: bytes | None,
    fmt: str,
    recipe: Recipe,
    deadline: float | None,
) -> tuple[dict[Size, bytes], Image.Image]:
    """Encoded bytes per size, and the smallest output image."""
    if isinstance(base, Planes):
        rendered = _render(base, sizes, orientation, lambda planes: orient.apply(planes, orientation))
        join = _joiner(icc, bool(recipe.filters) or fmt != "jpeg")
        rendered = {size: join(planes) for size, planes in rendered.items()}
    else:
        rendered = _render(base, sizes, orientation, _finisher(icc, base.mode, orientation))
    outputs = {size: filters.apply_filters(im, recipe.filters) for size, im in rendered.items()}
    smallest = outputs[min(outputs, key=max)]
    encoded = {}
    for size, im in outputs.items():
        budget.check_deadline(deadline)
        encoded[size] = encode.encode(im, fmt, recipe.quality)
    return encoded, smallest


def _animation(
    source: Image.Image,
    plan: animation.Layout,
    sizes: list[Size],
    orientation: int,
    icc: bytes | None,
    recipe: Recipe,
    fmt: str,
    deadline: float | None,
) -> tuple[dict[Size, bytes], Image.Image]:
    """Encoded animation bytes per size, and the first frame of the smallest."""
    finish = _finisher(icc, "RGBA", orientation)

    def draw(frame: Image.Image, size: Size) -> Image.Image:
        return filters.apply_filters(finish(resize.resample(frame, orient.oriented(size, orientation))), recipe.filters)

    return animation.encode_variants(source, plan, sizes, draw, fmt, recipe.quality, deadline)


def _job(source: Image.Image, source_format: str, plan: animation.Layout | None, recipe: Recipe) -> budget.Job:
    """The work build_variants will do, from the header alone."""
    stored = source.size
    outputs = tuple({resize.fit(stored, spec.long_edge) for spec in recipe.variants})
    maybe_alpha = source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info
    fmt = encode.output_format(source_format, recipe.output_format, maybe_alpha)
    if plan is not None and plan.frames > 1 and fmt in encode.ANIMATION_FORMATS:
        return budget.Job(source_format, plan.canvas, plan.frames, outputs, fmt, recipe.quality, recipe.filters)
    draft = resize.draft_size(stored, max(spec.long_edge for spec in recipe.variants))
    scale = decode.dct_scale(stored, draft) if source_format == "jpeg" else 1
    decoded = (-(-stored[0] // scale), -(-stored[1] // scale))
    return budget.Job(source_format, decoded, 1, outputs, fmt, recipe.quality, recipe.filters)


def _jpeg_planes_scale(
    source: Image.Image, source_format: str, recipe: Recipe, target: Size, draft: Size | None
) -> int | None:
    """The DCT scale of the chroma pass when this still JPEG is decoded as luma plus chroma, else None.

    Only for a baseline colour JPEG decoded at full size, bound for a 4:2:0 format: there two passes over the
    entropy-coded data (full-size luma, chroma at 1/4 or 1/8) cost less than one RGB decode and splitting it
    (12 MP: 95 against 131 ms). A progressive JPEG's entropy decoding is the larger part and is not worth
    doing twice (12 MP: 312 against 262 ms), nor is a JPEG the draft already shrinks (50 MP at 1/2: 370
    against 610 ms); those are decoded once and split.
    """
    # A JPEG has no alpha, so its output format is known before decoding.
    fmt = encode.output_format(source_format, recipe.output_format, has_alpha=False)
    if source_format != "jpeg" or source.mode != "RGB" or fmt not in encode.SUBSAMPLED_FORMATS:
        return None
    if source.info.get("progressive") or target == source.size or decode.dct_scale(source.size, draft) > 1:
        return None
    return decode.chroma_scale(source.size, planar.half(target))


def build_variants(data: bytes, recipe: Recipe, deadline: float | None = None) -> ProcessedImage:
    """Decode, bound, orient, convert to sRGB, resize, filter and encode one uploaded image.

    deadline is a time.monotonic() value: a job estimated to end after it is refused before it starts
    (ImageTooComplex), and one that reaches it anyway stops with ProcessingTimeout.
    """
    budget.check_deadline(deadline)
    source, source_format = decode.open_image(data, recipe.max_pixels)
    stored = source.size
    if source_format == "jpeg":
        completeness.check_jpeg(data, stored)
    plan = animation.layout(data, source, source_format) if source_format in decode.ANIMATED_FORMATS else None
    if plan is not None:
        animation.check(plan, recipe.max_pixels, recipe.max_frames)
    budget.admit(_job(source, source_format, plan, recipe), deadline)
    animated = plan is not None and plan.frames > 1
    largest = max(spec.long_edge for spec in recipe.variants)
    # The largest variant in stored orientation: the first and by far the costliest resize.
    target = resize.fit(stored, largest)
    draft = None if animated else resize.draft_size(stored, largest)
    scale = None if animated else _jpeg_planes_scale(source, source_format, recipe, target, draft)
    if scale:
        luma, small = decode.load_planes(data, source, scale)
    else:
        decode.load(source, draft)
    # Metadata and palettes are parsed lazily, so damage can still surface here.
    with decode.decoding():
        orientation = orient.orientation(source)
        removed = metadata.found(source)
        base: Picture = Planes(luma, *planar.chroma_bands(small)) if scale else colour.to_working_mode(source)
    icc = source.info.get("icc_profile")
    alpha = isinstance(base, Image.Image) and colour.has_transparency(base)
    fmt = encode.output_format(source_format, recipe.output_format, alpha)
    if isinstance(base, Image.Image) and base.mode == "RGB" and fmt in encode.SUBSAMPLED_FORMATS:
        if not animated and target != stored:
            base = planar.from_rgb(base, target)

    shown = orient.oriented(stored, orientation)
    sizes = [resize.fit(shown, spec.long_edge) for spec in recipe.variants]
    budget.check_deadline(deadline)
    if plan is not None and animated and fmt in encode.ANIMATION_FORMATS:
        encoded, smallest = _animation(source, plan, sizes, orientation, icc, recipe, fmt, deadline)
    else:
        encoded, smallest = _still(base, sizes, orientation, icc, fmt, recipe, deadline)

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
