"""Synthetic photos for tests and benchmarks, all in one place: every test image is generated in code.

Each generator has its own statistics and callers depend on them (SSIM floors, byte counts, benchmark
figures), so they are kept as they were written, side by side, rather than merged into one."""

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth gradients, grain, hard edges and text."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / width, y / height
    base = np.stack(
        [
            255 * u,
            255 * (0.5 + 0.5 * np.sin(6 * v + 3 * u)),
            255 * (1 - 0.6 * u * v),
        ],
        axis=-1,
    )
    base += 10 * rng.standard_normal((height, width, 1), dtype=np.float32)
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    scale = max(1, width // 400)
    for i in range(8):
        left, top = int(width * (0.05 + 0.11 * i)), int(height * (0.6 - 0.05 * i))
        draw.rectangle((left, top, left + 25 * scale, top + 40 * scale), fill=(250 - 30 * i, 20 * i, 60))
        draw.ellipse((left, top - 30 * scale, left + 20 * scale, top - 10 * scale), outline=(0, 0, 0), width=scale)
    for i in range(6):
        draw.text(
            (width * 0.1, height * (0.08 + 0.06 * i)), f"Sample text line {i}", fill=(0, 0, 0), font_size=14 * scale
        )
    draw.line((0, height - 1, width - 1, 0), fill=(255, 255, 255), width=2 * scale)
    return im


def photo_like(width: int, height: int, seed: int):
    """An RGB image with a photo's statistics: smooth light, textures at several scales, grain, hard edges, text."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / width, y / height
    base = np.stack(
        [60 + 150 * u + 30 * np.sin(5 * v), 80 + 90 * (0.5 + 0.5 * np.sin(4 * v + 2 * u + seed)), 200 - 120 * u * v],
        axis=-1,
    )
    del x, y, u, v
    # Foliage, fabric, gravel: noise at 64, 16 and 4 pixel scales, then sensor grain.
    for scale, amplitude in ((64, 18), (16, 12), (4, 8)):
        coarse = rng.standard_normal((height // scale + 2, width // scale + 2)).astype(np.float32)
        texture = np.asarray(Image.fromarray(coarse, "F").resize((width, height), Image.Resampling.BICUBIC))
        base += amplitude * texture[..., None]
    base += 3.0 * rng.standard_normal((height, width, 1), dtype=np.float32)
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    del base
    draw = ImageDraw.Draw(im)
    s = max(1, width // 400)
    for i in range(12):
        left, top = int(width * (0.04 + 0.08 * i)), int(height * (0.7 - 0.04 * i))
        draw.rectangle((left, top, left + 30 * s, top + 50 * s), fill=(250 - 20 * i, 18 * i, 60 + 10 * i))
        draw.ellipse((left, top - 40 * s, left + 25 * s, top - 12 * s), outline=(10, 10, 10), width=s)
    for i in range(8):
        text = f"Sample text line {i}: the quick brown fox"
        draw.text((width * 0.08, height * (0.06 + 0.05 * i)), text, fill=(0, 0, 0), font_size=12 * s)
    for i in range(20):
        draw.line((0, height * i / 20, width - 1, height * (1 - i / 20)), fill=(255, 255, 255), width=max(1, s // 3))
    return im


def photo_like_jpeg(seed: int, width: int = 4000, height: int = 3000, quality: int = 90) -> bytes:
    """A JPEG that compresses like a photo: smooth gradients, shapes with soft edges, sensor noise."""
    rng = random.Random(seed)
    gradient = Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270])).resize((width, height), Image.BICUBIC)
    channels = []
    for _ in range(3):
        low, high = rng.randrange(0, 120), rng.randrange(135, 256)
        channels.append(gradient.point(lambda v, low=low, high=high: low + (high - low) * v // 255))
    image = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 40, width // 5), rng.randrange(height // 40, height // 5)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "polygon":
            draw.polygon([(x + rng.randrange(-w, w), y + rng.randrange(-h, h)) for _ in range(5)], fill=colour)
        else:
            getattr(draw, shape)((x, y, x + w, y + h), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((width, height), 40)
    image = Image.blend(image, Image.merge("RGB", (noise, noise, noise)), 0.15)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def small_photo(width: int = 640, height: int = 480, seed: int = 0, fmt: str = "JPEG", quality: int = 88) -> bytes:
    """A small photo-like image: a gradient, a few shapes and some noise, different for every seed."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    tint = Image.new("RGB", (width, height), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    image = Image.blend(image, tint, 0.5)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(10, max(11, min(width, height) // 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    noise = Image.effect_noise((width, height), 24).convert("RGB")
    image = Image.blend(image, noise, 0.15)
    out = io.BytesIO()
    image.save(out, fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()


def noisy_jpeg(min_bytes: int, seed: int = 1) -> bytes:
    """A JPEG of at least `min_bytes` (noise compresses badly)."""
    side = 128
    while True:
        image = Image.frombytes("RGB", (side, side), random.Random(seed).randbytes(side * side * 3))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95)
        if out.tell() >= min_bytes:
            return out.getvalue()
        side += 128


def gradient_photo(fmt: str = "JPEG", width: int = 1280, height: int = 960, **params) -> bytes:
    """A gradient with a red disc: larger than the medium variant by default, so all three variants differ."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    ImageDraw.Draw(image).ellipse((width // 4, height // 4, width * 3 // 4, height * 3 // 4), fill=(220, 60, 40))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()
