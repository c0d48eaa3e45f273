"""build_variants: from uploaded bytes to encoded, metadata-free variants.

decode.read decodes the upload for one of three paths, told apart by the picture it returns: an animation
(decoded frame by frame here), planes (luma and half-size chroma, for 4:2:0 output) or a still image.
"""

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from . import animation, budget, colour, completeness, containers, decode, encode, filters, orient, placeholder, resize
from .planar import Planes
from .recipe import Recipe
from .result import ProcessedImage, SourceInfo, Variant

Size = tuple[int, int]
Encoded = tuple[dict[Size, bytes], Image.Image]
# A hook around each stage: span("decode"), span("resize"), span("encode") (filters included), or
# span("animation") (an animation's frames are decoded, resized and encoded in one pass). The caller's
# tracing, if any: this package knows nothing of it.
Span = Callable[[str], contextlib.AbstractContextManager]


def no_span(_: str) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


def _finisher(icc: bytes | None, mode: str, orientation: int) -> Callable[[Image.Image], Image.Image]:
    """Orientation followed by conversion to sRGB."""
    to_srgb = colour.srgb_converter(icc, mode)
    return lambda im: to_srgb(orient.apply(im, orientation))


def _joiner(icc: bytes | None, rgb: bool) -> Callable[[Planes], Image.Image]:
    """Planes to one image: YCbCr for the JPEG encoder, RGB in sRGB when a profile, filter or format needs it."""
    to_srgb = colour.srgb_converter(icc, "RGB")
    if to_srgb is colour.unchanged and not rgb:
        return lambda planes: planes.image()
    return lambda planes: to_srgb(planes.image().convert("RGB"))


def _encoded(
    images: dict[Size, Image.Image], fmt: str, recipe: Recipe, deadline: float | None, span: Span
) -> Encoded:
    """Filtered and encoded bytes per size, and the smallest output image."""
    with span("encode"):
        return _encode_all(images, fmt, recipe, deadline)


def _encode_all(images: dict[Size, Image.Image], fmt: str, recipe: Recipe, deadline: float | None) -> Encoded:
    outputs = {size: filters.apply_filters(im, recipe.filters) for size, im in images.items()}
    smallest = outputs[min(outputs, key=max)]

    def write(im: Image.Image) -> bytes:
        budget.check_deadline(deadline)
        return encode.encode(im, fmt, recipe.quality, recipe.threads)

    if recipe.threads > 1 and len(outputs) > 1:
        # Pillow's encoders release the GIL; largest first, so the others share the second core meanwhile.
        with ThreadPoolExecutor(recipe.threads) as pool:
            return dict(zip(outputs, pool.map(write, outputs.values()), strict=True)), smallest
    return {size: write(im) for size, im in outputs.items()}, smallest


def _still(
    decoded: decode.Decoded, picture: Image.Image, sizes: list[Size], recipe: Recipe, deadline: float | None,
    span: Span,
) -> Encoded:
    finish = _finisher(decoded.icc, picture.mode, decoded.orientation)
    with span("resize"):
        images = resize.cascade(picture, sizes, decoded.orientation, resize.resample, finish)
    return _encoded(images, decoded.output, recipe, deadline, span)


def _planar(
    decoded: decode.Decoded, planes: Planes, sizes: list[Size], recipe: Recipe, deadline: float | None,
    span: Span,
) -> Encoded:
    orientation = decoded.orientation
    join = _joiner(decoded.icc, bool(recipe.filters) or decoded.output != "jpeg")
    with span("resize"):
        rendered = resize.cascade(planes, sizes, orientation, Planes.resized, lambda p: orient.apply(p, orientation))
        joined = {size: join(p) for size, p in rendered.items()}
    return _encoded(joined, decoded.output, recipe, deadline, span)


def _animation(
    data: bytes, decoded: decode.Decoded, sizes: list[Size], recipe: Recipe, deadline: float | None
) -> Encoded:
    """Encoded animation bytes per size, and the first frame of the smallest."""
    finish = _finisher(decoded.icc, "RGBA", decoded.orientation)

    def draw(frame: Image.Image, size: Size) -> Image.Image:
        return filters.apply_filters(finish(resize.resample(frame, orient.oriented(size, decoded.orientation))),
                                     recipe.filters)

    plan = animation.layout(data, decoded.source, decoded.format)
    return animation.encode_variants(decoded.source, plan, sizes, draw, decoded.output, recipe.quality, deadline)


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


def _admission(data: bytes, recipe: Recipe, deadline: float | None) -> Callable[[Image.Image, str], None]:
    """The checks between reading the header and decoding: data enough for the size and scans few enough, the
    work a container declares beyond its size (HEIF derivations, TIFF tiles), the frames' real canvas, and the
    whole job's estimated time against the deadline."""

    def admit(source: Image.Image, source_format: str) -> None:
        if source_format == "jpeg":
            completeness.check_jpeg(data, source.size)
        elif source_format in ("heif", "avif"):
            containers.check_heif(data, recipe.max_pixels)
        elif source_format == "tiff":
            containers.check_tiff(source)
        plan = animation.layout(data, source, source_format) if source_format in decode.ANIMATED_FORMATS else None
        if plan is not None:
            animation.check(plan, recipe.max_pixels, recipe.max_frames)
        budget.admit(_job(source, source_format, plan, recipe), deadline)

    return admit


def build_variants(
    data: bytes, recipe: Recipe, deadline: float | None = None, span: Span = no_span
) -> ProcessedImage:
    """Decode, bound, orient, convert to sRGB, resize, filter and encode one uploaded image.

    deadline is a time.monotonic() value: a job estimated to end after it is refused before it starts
    (ImageTooComplex), and one that reaches it anyway stops with ProcessingTimeout. span wraps each stage
    (see Span).
    """
    budget.check_deadline(deadline)
    with span("decode"):
        decoded = decode.read(data, recipe, _admission(data, recipe, deadline))
    budget.check_deadline(deadline)
    shown = decoded.shown
    sizes = [resize.fit(shown, spec.long_edge) for spec in recipe.variants]
    picture = decoded.picture
    if picture is None:
        with span("animation"):
            encoded, smallest = _animation(data, decoded, sizes, recipe, deadline)
    elif isinstance(picture, Planes):
        encoded, smallest = _planar(decoded, picture, sizes, recipe, deadline, span)
    else:
        encoded, smallest = _still(decoded, picture, sizes, recipe, deadline, span)

    fmt = decoded.output
    variants = tuple(
        Variant(spec.name, size[0], size[1], fmt, encode.content_type(fmt), encode.extension(fmt), encoded[size])
        for spec, size in zip(recipe.variants, sizes, strict=True)
    )
    return ProcessedImage(
        original=SourceInfo(width=shown[0], height=shown[1], format=decoded.format, bytes=len(data)),
        variants=variants,
        metadata_removed=decoded.metadata_removed,
        placeholder=placeholder.blurhash(smallest),
    )
