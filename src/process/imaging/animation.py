"""Animations: their real size and length read before decoding, then each variant made frame by frame.

A GIF frame may lie outside the canvas its header declares, and Pillow grows the canvas to hold it: every
later frame is then decoded and converted at the grown size. So the frame budget counts the canvas Pillow
will reach, read from the frame descriptors, not the header. Variants are encoded as their frames are
made, one variant at a time, so memory holds a few frames rather than every frame of every variant.
"""

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image

from . import budget, decode, encode
from .errors import ImageTooLarge

Size = tuple[int, int]

# Animation frames are full canvases, so several frames of a large canvas add up; a
# budget of 4x the still-image limit keeps short animations usable and memory bounded.
PIXEL_FACTOR = 4


@dataclass(frozen=True)
class Layout:
    """What decoding an animation will cost: its frame count and the largest canvas Pillow will decode."""

    frames: int
    canvas: Size
    transparent: bool  # some frame may have transparent pixels (a GIF transparency index, a WebP alpha flag)


def _gif_layout(data: bytes, header: Size) -> Layout:
    """Frames, grown canvas and transparency of a GIF, read the way Pillow's GifImageFile._seek reads it.

    Pillow skips bytes it does not know, reads an extension's sub-blocks after its first one (even after an
    empty first one), and ends the frames at the trailer, the end of the data or an image descriptor cut
    short. Reading the same way gives the frame count Pillow's n_frames gives, without decoding a pixel.
    """
    flags = data[10] if len(data) > 10 else 0
    position = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    width, height = header
    frames, transparent = 0, False

    def sub_block() -> bytes | None:
        # Pillow's GifImageFile.data(): one length-prefixed sub-block, None at a zero length or the end.
        nonlocal position
        length = data[position] if position < len(data) else 0
        position += 1
        if not length:
            return None
        block = data[position : position + length]
        position += length
        return block

    while position < len(data):
        tag = data[position]
        position += 1
        if tag == 0x3B:
            break
        if tag == 0x21:
            label = data[position] if position < len(data) else None
            position += 1
            block = sub_block()
            if label == 0xF9 and block:
                transparent = transparent or bool(block[0] & 1)
            elif label == 0xFE:
                while block:
                    block = sub_block()
                continue
            elif label == 0xFF and frames == 0 and block is not None and block.startswith(b"NETSCAPE2.0"):
                sub_block()
            while sub_block():
                pass
        elif tag == 0x2C:
            descriptor = data[position : position + 9]
            if len(descriptor) < 9:
                break
            x0, y0, w, h, local = struct.unpack("<HHHHB", descriptor)
            width, height = max(width, x0 + w), max(height, y0 + h)
            position += 9 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            if position >= len(data):  # no LZW code size: Pillow fails here, counting no further frame
                break
            position += 1
            frames += 1
            while sub_block():  # the image data, skipped as Pillow skips it when seeking on
                pass
    return Layout(max(frames, 1), (width, height), transparent)


def layout(data: bytes, im: Image.Image, fmt: str) -> Layout:
    """The frame count and decoded canvas of an animated GIF or WebP."""
    if fmt == "gif":
        return _gif_layout(data, im.size)
    # libwebp's demuxer refuses a frame outside the canvas, so the header's size is the decoded size.
    with decode.decoding():
        return Layout(im.n_frames, im.size, im.mode in ("RGBA", "LA"))


def check(plan: Layout, max_pixels: int, max_frames: int) -> None:
    """Refuse an animation with too many frames, a canvas over the pixel limit, or too many pixels in all."""
    width, height = plan.canvas
    if plan.frames > max_frames:
        raise ImageTooLarge(
            f"The animation has {plan.frames} frames; the limit is {max_frames}. Shorten it and upload it again."
        )
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"The animation's frames reach out to {width}x{height} pixels ({decode.megapixels(width * height)}); "
            f"the limit is {decode.megapixels(max_pixels)}. Re-export it with every frame inside its canvas."
        )
    if plan.frames * width * height > PIXEL_FACTOR * max_pixels:
        raise ImageTooLarge(
            f"The animation has {plan.frames} frames of {width}x{height} pixels, more than "
            f"{decode.megapixels(PIXEL_FACTOR * max_pixels)} in total. Shorten it or reduce its size."
        )


def frames(im: Image.Image, plan: Layout, shown: Size, deadline: float | None) -> Iterator[tuple[Image.Image, int]]:
    """Decode each frame in turn as an RGBA image of the size shown at the first frame, with its duration (ms).

    Pillow may grow a GIF's canvas at a later frame; what lies outside the first frame's canvas is cut off,
    as browsers cut it off.
    """
    for index in range(plan.frames):
        budget.check_deadline(deadline)
        with decode.decoding():
            im.seek(index)
            if im.width > plan.canvas[0] or im.height > plan.canvas[1]:
                raise ImageTooLarge("An animation frame reaches beyond the canvas its frames declare.")
            # Converting resolves the palette, where a damaged GIF can still fail.
            frame = im.convert("RGBA")
        if frame.size != shown:
            frame = frame.crop((0, 0, *shown))
        yield frame, int(im.info.get("duration") or 0)


def encode_variants(
    im: Image.Image,
    plan: Layout,
    sizes: list[Size],
    draw: Callable[[Image.Image, Size], Image.Image],
    fmt: str,
    quality: int,
    deadline: float | None,
) -> tuple[dict[Size, bytes], Image.Image]:
    """Each distinct size encoded from its own pass over the frames, and the first frame of the smallest.

    Decoding a frame costs less than holding it: one pass per size keeps a frame or two in memory where
    holding every frame of every variant until encoding took 1.08 GB at the frame budget.
    """
    loop = im.info.get("loop")
    shown = im.size
    encoded: dict[Size, bytes] = {}
    for size in sorted(set(sizes), key=max, reverse=True):
        durations: list[int] = []

        def drawn(size: Size = size, durations: list[int] = durations) -> Iterator[Image.Image]:
            for frame, duration in frames(im, plan, shown, deadline):
                durations.append(duration)
                yield draw(frame, size)

        stream = drawn()
        first = next(stream)
        # Sizes run largest first, so the last one kept is the smallest's.
        smallest = first.copy()
        encoded[size] = encode.encode_animation(
            first, stream, plan.frames, durations, loop, fmt, quality, plan.transparent
        )
    return encoded, smallest
