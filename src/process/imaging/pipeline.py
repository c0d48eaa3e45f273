"""build_variants: from uploaded bytes to encoded, metadata-free variants.

decode.read decodes the upload for one of three paths, told apart by the picture it returns: an animation
(decoded frame by frame here), planes (luma and half-size chroma, for 4:2:0 output) or a still image.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from . import colour, decode, encode, filters, orient, placeholder, resize
from .planar import Planes
from .recipe import Recipe
from .result import ProcessedImage, SourceInfo, Variant

Size = tuple[int, int]
Encoded = tuple[dict[Size, bytes], Image.Image]


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


def _encoded(images: dict[Size, Image.Image], fmt: str, recipe: Recipe) -> Encoded:
    """Filtered and encoded bytes per size, and the smallest output image."""
    outputs = {size: filters.apply_filters(im, recipe.filters) for size, im in images.items()}
    smallest = outputs[min(outputs, key=max)]

    def write(im: Image.Image) -> bytes:
        return encode.encode(im, fmt, recipe.quality, recipe.threads)

    if recipe.threads > 1 and len(outputs) > 1:
        # Pillow's encoders release the GIL; largest first, so the others share the second core meanwhile.
        with ThreadPoolExecutor(recipe.threads) as pool:
            return dict(zip(outputs, pool.map(write, outputs.values()), strict=True)), smallest
    return {size: write(im) for size, im in outputs.items()}, smallest


def _still(decoded: decode.Decoded, picture: Image.Image, sizes: list[Size], recipe: Recipe) -> Encoded:
    finish = _finisher(decoded.icc, picture.mode, decoded.orientation)
    images = resize.cascade(picture, sizes, decoded.orientation, resize.resample, finish)
    return _encoded(images, decoded.output, recipe)


def _planar(decoded: decode.Decoded, planes: Planes, sizes: list[Size], recipe: Recipe) -> Encoded:
    orientation = decoded.orientation
    rendered = resize.cascade(planes, sizes, orientation, Planes.resized, lambda p: orient.apply(p, orientation))
    join = _joiner(decoded.icc, bool(recipe.filters) or decoded.output != "jpeg")
    return _encoded({size: join(p) for size, p in rendered.items()}, decoded.output, recipe)


def _animation(decoded: decode.Decoded, sizes: list[Size], recipe: Recipe) -> Encoded:
    """Encoded animation bytes per size, and the first frame of the smallest."""
    finish = _finisher(decoded.icc, "RGBA", decoded.orientation)
    frames: dict[Size, list[Image.Image]] = {size: [] for size in sizes}
    durations = []
    for frame, duration in decode.frames(decoded.source, recipe.max_pixels):
        for size, im in resize.cascade(frame, sizes, decoded.orientation, resize.resample, finish).items():
            frames[size].append(filters.apply_filters(im, recipe.filters))
        durations.append(duration)
    loop = decoded.source.info.get("loop")
    smallest = frames[min(frames, key=max)][0]
    fmt = decoded.output
    encoded = {size: encode.encode_animation(f, durations, loop, fmt, recipe.quality) for size, f in frames.items()}
    return encoded, smallest


def build_variants(data: bytes, recipe: Recipe) -> ProcessedImage:
    """Decode, bound, orient, convert to sRGB, resize, filter and encode one uploaded image."""
    decoded = decode.read(data, recipe)
    shown = decoded.shown
    sizes = [resize.fit(shown, spec.long_edge) for spec in recipe.variants]
    picture = decoded.picture
    if picture is None:
        encoded, smallest = _animation(decoded, sizes, recipe)
    elif isinstance(picture, Planes):
        encoded, smallest = _planar(decoded, picture, sizes, recipe)
    else:
        encoded, smallest = _still(decoded, picture, sizes, recipe)

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
