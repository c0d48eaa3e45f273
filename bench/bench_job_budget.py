"""The per-pixel costs behind imaging/budget.py, and what the largest and the hostile jobs cost.

    .venv/bin/python bench/bench_job_budget.py --calibrate   # ns per pixel: decoders, resize, filters, encoders
    .venv/bin/python bench/bench_job_budget.py --jobs        # chosen jobs, each in a fresh process: time, peak RSS
    .venv/bin/python bench/bench_job_budget.py --jobs --no-deadline   # each job run to its end: the estimate's error

--calibrate times each step on photo-like content, one thread, median of --rounds, and prints the tables
budget.py holds. --jobs runs build_variants on each job with the deadline ProcessFunction would give it
(Timeout 60 s less the margin) and reports the outcome, the estimate, the wall time and the peak RSS.
"""

import argparse
import io
import json
import resource
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

repo_paths.use("process")
ROOT = repo_paths.ROOT

VARIANTS = (("large", 2048), ("medium", 1024), ("thumb", 256))
TIMEOUT_SECONDS = 60


def _time(call, rounds: int) -> float:
    """Median CPU seconds of call: on a machine shared with other work, wall time measures the neighbours."""
    times = []
    for _ in range(rounds):
        started = time.process_time()
        call()
        times.append(time.process_time() - started)
    return statistics.median(times)


def _photo(width: int, height: int, seed: int = 1):
    from testkit.images import photo_like

    return photo_like(width, height, seed)


def _save(im, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def _moving(width: int, height: int, count: int):
    """count photo-like RGBA frames of a scene panning right: what a screen recording or a clip looks like."""

    wide = _photo(width + 4 * count, height)
    return [wide.crop((4 * i, 0, 4 * i + width, height)).convert("RGBA") for i in range(count)]


def animated_gif(width: int, height: int, count: int) -> bytes:
    from PIL import Image

    frames = [f.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT) for f in _moving(width, height, count)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)


def calibrate(rounds: int) -> None:
    import imaging
    from imaging import encode, filters, resize
    from PIL import Image

    size = (1500, 1000)
    pixels = size[0] * size[1]
    photo = _photo(*size)
    rgba = photo.convert("RGBA")
    print(f"photo-like {size[0]}x{size[1]}, median of {rounds}, ns per pixel\n\nDECODE_NS")
    import pillow_heif

    heif = io.BytesIO()
    pillow_heif.from_pillow(photo).save(heif, quality=80)
    sources = {
        "jpeg": _save(photo, "JPEG", quality=85),
        "png": _save(photo, "PNG"),
        "webp": _save(photo, "WEBP", quality=80),
        "avif": _save(photo, "AVIF", quality=80, speed=8),
        "heif": heif.getvalue(),
        "tiff": _save(photo, "TIFF"),
        "bmp": _save(photo, "BMP"),
    }
    for name, data in sources.items():
        def run(data=data):
            im = Image.open(io.BytesIO(data))
            im.load()
            im.convert("RGB")
        print(f"  {name:5} {_time(run, rounds) / pixels * 1e9:6.1f}")
    # Animation frames: seek (decode, composite) and convert to RGBA, per canvas pixel.
    count, frame_size = 12, (600, 400)
    for name, data in (
        ("gif", animated_gif(*frame_size, count)),
        ("webp", _save(_moving(*frame_size, count)[0], "WEBP", save_all=True,
                       append_images=_moving(*frame_size, count)[1:], quality=80)),
    ):
        def run(data=data):
            im = Image.open(io.BytesIO(data))
            for index in range(im.n_frames):
                im.seek(index)
                im.convert("RGBA")
        print(f"  {name:5} animation frame {_time(run, rounds) / (count * frame_size[0] * frame_size[1]) * 1e9:6.1f}")

    print("\nRESIZE_NS, per pixel read (to a 1024 px variant, and a 600x400 frame to 256 px)")
    print(f"  {_time(lambda: resize.resample(photo, (1024, 683)), rounds) / pixels * 1e9:6.1f}")
    small = rgba.resize(frame_size)
    print(f"  {_time(lambda: resize.resample(small, (256, 171)), rounds * 5) / (600 * 400) * 1e9:6.1f} (frame)")

    print("\nFILTER_NS, per pixel (RGB)")
    for name in imaging.FILTERS:
        seconds = _time(lambda name=name: filters.apply_filters(photo, (name,)), rounds)
        print(f"  {name:12} {seconds / pixels * 1e9:6.1f}")

    print("\nENCODE_NS, per pixel, at quality 50, 82, 100 (still)")
    for fmt in ("jpeg", "png", "webp", "avif", "gif"):
        cells = [_time(lambda q=q, fmt=fmt: encode.encode(photo.copy(), fmt, q), rounds) / pixels * 1e9
                 for q in (50, 82, 100)]
        print(f"  {fmt:5} " + ", ".join(f"{c:.1f}" for c in cells))

    print("\nANIMATION_ENCODE_NS, per frame pixel, at quality 50, 82, 100 (frames of a pan, 600x400)")
    frames = _moving(*frame_size, count)
    for fmt in ("gif", "webp"):
        cells = []
        for q in (50, 82, 100):
            def run(q=q, fmt=fmt):
                copies = [f.copy() for f in frames]
                encode.encode_animation(copies[0], iter(copies[1:]), count, [40] * count, 0, fmt, q, False)
            cells.append(_time(run, rounds) / (count * frame_size[0] * frame_size[1]) * 1e9)
        print(f"  {fmt:5} " + ", ".join(f"{c:.1f}" for c in cells))


# --------------------------------------------------------------------------- jobs, each in a fresh process


def offset_gif(count: int, header: int = 100, at: int = 6999) -> bytes:
    """A header-sized first frame, then count - 1 one-pixel frames at (at, at): Pillow's canvas grows to hold them."""
    from PIL import Image

    base = _save(Image.new("P", (header, header), 0), "GIF")
    frame = b"\x21\xf9\x04\x00\x0a\x00\x00\x00," + struct.pack("<HHHHB", at, at, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return base[:-1] + frame * (count - 1) + b";"


def _cached(name: str, make) -> bytes:
    cache = ROOT / "bench" / "results" / "jobs"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / name
    if not path.exists():
        print(f"generating {name}", file=sys.stderr)
        path.write_bytes(make())
    return path.read_bytes()


def _pan_gif() -> bytes:
    """300 frames of 816x816 (the frame budget at the default 50 MP), a pan over a drawing: 3.4 MB."""
    from PIL import Image, ImageDraw

    wide = Image.new("RGB", (816 + 2 * 300, 816), (235, 235, 225))
    draw = ImageDraw.Draw(wide)
    for i in range(0, wide.width, 24):
        draw.rectangle((i, 300 + (i * 7) % 200, i + 18, 816), fill=((i * 3) % 256, 90, 160 - (i % 120)))
        draw.ellipse((i, (i * 13) % 280, i + 40, (i * 13) % 280 + 40), outline=(20, 20, 20), width=2)
    frames = [wide.crop((2 * i, 0, 2 * i + 816, 816)).quantize(64) for i in range(300)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)


_TEN_FILTERS = ("sepia", "blur", "sharpen", "contour", "edge", "emboss", "invert", "autocontrast", "grayscale", "blur")

# name -> (input, recipe options); inputs are made in the probe's process, only the one it runs.
JOBS = {
    "300x816 GIF, original": (lambda: _cached("pan-300x816.gif", _pan_gif), {}),
    "300x816 GIF, webp q82": (lambda: _cached("pan-300x816.gif", _pan_gif), {"output_format": "webp", "quality": 82}),
    "300x816 GIF, webp q100, 10 filters": (lambda: _cached("pan-300x816.gif", _pan_gif),
                                           {"output_format": "webp", "quality": 100, "filters": _TEN_FILTERS}),
    "offset GIF, 300 frames to 7000x7000": (lambda: offset_gif(300), {}),
    "offset GIF, 4 frames to 7000x7000": (lambda: offset_gif(4), {}),
    "49 MP lossless WebP, 1.9 KB": (lambda: _cached("flat-7000.webp", lambda: _save(
        __import__("PIL.Image").Image.new("RGB", (7000, 7000), (10, 200, 30)), "WEBP", lossless=True)), {}),
    "49 MP JPEG cut to 2 KB": (lambda: _cached("short-7000.jpg", _short_jpeg), {}),
}


def _short_jpeg() -> bytes:
    """A 64x48 JPEG whose frame header is rewritten to 7000x7000: libjpeg would fill the rest with grey."""
    from testkit.fuzz_strategies import set_declared_size

    return set_declared_size(_save(_photo(64, 48), "JPEG", quality=80), 7000, 7000)


def job_probe(name: str, use_deadline: bool) -> None:
    import imaging
    from imaging import budget

    make, options = JOBS[name]
    data = make()
    recipe = imaging.Recipe(variants=tuple(imaging.VariantSpec(n, e) for n, e in VARIANTS), **options)
    from imaging import animation, decode, pipeline
    from process_app import DEADLINE_MARGIN_SECONDS

    # As ProcessFunction gives it: the function's time less the margin for writing the outcome.
    started, cpu = time.perf_counter(), time.process_time()
    deadline = time.monotonic() + TIMEOUT_SECONDS - DEADLINE_MARGIN_SECONDS
    estimate = None
    try:
        source, fmt = decode.open_image(data, recipe.max_pixels)
        plan = animation.layout(data, source, fmt) if fmt in decode.ANIMATED_FORMATS else None
        estimate = budget.estimate_seconds(pipeline._job(source, fmt, plan, recipe)) * budget.SLOWER_CORE
        imaging.build_variants(data, recipe, deadline if use_deadline else None)
        outcome = "done"
    except imaging.ImageRejected as rejection:
        outcome = rejection.code
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"outcome": outcome, "seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak, "bytes": len(data),
                      "estimate": estimate}))


def jobs(use_deadline: bool) -> None:
    print(f"build_variants({', '.join(f'{n}={e}' for n, e in VARIANTS)}), deadline {TIMEOUT_SECONDS} s less the "
          "margin, a fresh process per job")
    print(f"{'job':40} {'input bytes':>11} {'outcome':>18} {'estimate s':>10} {'seconds':>8} {'CPU s':>6} "
          f"{'peak RSS MB':>11}")
    for name, (make, _) in JOBS.items():
        make()  # made (and cached) here, so that making it does not count in the probe's peak
        command = [sys.executable, __file__, "--job-probe", name] + ([] if use_deadline else ["--no-deadline"])
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.splitlines()[-1])
        estimate = f"{row['estimate']:.1f}" if row["estimate"] is not None else "-"
        print(f"{name:40} {row['bytes']:11,} {row['outcome']:>18} {estimate:>10} {row['seconds']:8.2f} "
              f"{row['cpu_seconds']:6.2f} {row['peak_mb']:11.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--jobs", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-deadline", action="store_true", help="run every job to its end, to check estimates")
    parser.add_argument("--job-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job_probe:
        job_probe(args.job_probe, not args.no_deadline)
    elif args.calibrate:
        calibrate(args.rounds)
    elif args.jobs:
        jobs(not args.no_deadline)
    else:
        parser.print_help()


if __name__ == "__main__":
    main()
