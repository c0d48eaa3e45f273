"""Processing speed, memory and quality of the imaging core next to naive Pillow, pyvips and sharp.

    .venv/bin/python bench/bench_processing.py                      # generated 12 MP photo-like JPEGs
    .venv/bin/python bench/bench_processing.py --photos DIR         # any folder of real photos
    .venv/bin/python bench/bench_processing.py --encoders           # encoder settings: time against bytes
    .venv/bin/python bench/bench_processing.py --photos DIR --edge  # WebP/AVIF at 320-1280 px vs sharp, 640 px render
    .venv/bin/python bench/bench_processing.py --memory             # peak RSS and time at the 50 MP limit
    .venv/bin/python bench/bench_processing.py --kinds jpeg,heic --cores 1,2 --plot docs/processing.png
    .venv/bin/python bench/bench_processing.py --after-decode [--compare-imaging DIR]
                                                                    # CPU after the decode step, JPEG vs HEIC
                                                                    # phone HEICs too, on one and two cores

Every engine makes the same three JPEG variants (long edge 2048, 1024 and 256, quality 80) from the same
bytes, on one thread, each in its own worker process (so each has its own peak RSS):
  ours          imaging.build_variants (src/process/imaging), as the Process function runs it
  naive         Pillow the slow way: full decode, EXIF orientation, one Lanczos resize per variant from the
                full image, JPEG quality 80; also the quality reference
  pyvips        pyvips.Image.thumbnail_buffer per variant (shrink-on-load, auto-rotate), jpegsave Q=80,
                metadata stripped; VIPS_CONCURRENCY=1, operation cache off
  pyvips-chain  pyvips thumbnailing once to 2048 and the smaller variants from that
  sharp         sharp per variant (bench/sharp_variants.mjs, concurrency(1), cache off, sharp's JPEG defaults)
  decode        imaging.decode.read alone (ours' decode step), so "after decode" is ours less this
  floor         libjpeg-turbo's RGB decode at the DCT scale ours picks plus ours' three encodes, timed alone
                (the variants are made between them, untimed): what no pipeline on this decoder and encoder
                can skip; "ours - floor" per photo is what resizing and the rest of ours cost
pyvips and sharp are used when installed (`pip install -r bench/requirements.txt`, `npm ci --prefix bench`);
neither ready-made build decodes HEVC, so they sit out the HEIC runs.

--kinds jpeg,heic runs the photos as JPEG and as HEIC twins of the same pixels (4032x3024 or 4000x3000 in
512 px grid tiles as phones write them, x265 at quality 90, preset ultrafast so that making them takes
seconds). --cores 1,2 starts every engine twice, pinned with taskset to one core and to two; ours then
decodes and encodes on as many threads as it has cores (imageservice.config.processing_threads), the
others stay single-threaded. --format webp or avif has ours and naive write that format instead.
Rounds interleave the engines per image in rotating order, so machine noise hits all of them alike; times
are per image (all three variants), from the bytes in memory to the encoded bytes, wall clock.

Quality: each variant, decoded, against the slow reference (full decode, EXIF orientation, one Lanczos
resize of the RGB image to the variant's size): SSIM (skimage, luma, data_range=255) at the run's
quality, and in a second, untimed pass at quality 100, where the codec's loss is negligible and what is
left is the engine's resampling.
"""

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

repo_paths.use("process")
ROOT = repo_paths.ROOT
from testkit.images import photo_like  # noqa: E402

EDGES = (2048, 1024, 256)
GENERATED = ((4000, 3000), (4032, 3024))
# Engines whose ready-made builds cannot decode HEVC HEICs.
NO_HEIC = ("pyvips", "pyvips-chain", "sharp")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".avif", ".tif", ".tiff")


# --------------------------------------------------------------------------- test images


def generated_photos(count: int) -> list[Path]:
    """count 12-megapixel photo-like JPEGs (quality 90), every third stored sideways with EXIF orientation 6."""
    from PIL import Image

    folder = ROOT / "bench" / "results" / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        width, height = GENERATED[index % len(GENERATED)]
        turned = index % 3 == 2
        path = folder / f"photo-{index}-{width}x{height}{'-exif6' if turned else ''}.jpg"
        if not path.exists():
            print(f"generating {path.name}", file=sys.stderr)
            im = photo_like(width, height, seed=index)
            exif = Image.Exif()
            if turned:
                # Stored as a camera held upright stores it: turned, with the tag that turns it back.
                im = im.transpose(Image.Transpose.ROTATE_90)
                exif[0x0112] = 6
            im.save(path, "JPEG", quality=90, exif=exif)
        paths.append(path)
    return paths


def heic_twins(photos: list[Path]) -> list[Path]:
    """Each photo as a phone-style HEIC: 512 px grid tiles, EXIF orientation kept, made once."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()  # this process reads them too: sizes and the quality reference
    twins = []
    for photo in photos:
        path = photo.with_suffix(".heic")
        if not path.exists():
            print(f"generating {path.name}", file=sys.stderr)
            with Image.open(photo) as im:
                exif = im.getexif()
                heif = pillow_heif.from_pillow(im.convert("RGB"))
                heif.save(path, quality=90, tile_size=512, exif=exif.tobytes(), enc_params={"preset": "ultrafast"})
        twins.append(path)
    return twins


def photos_in(folder: Path) -> list[Path]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    if not paths:
        raise SystemExit(f"no photos ({', '.join(PHOTO_SUFFIXES)}) in {folder}")
    return paths


# --------------------------------------------------------------------------- workers


def _rss_kb() -> int:
    """This process's peak resident set so far, in KiB.

    On Linux VmHWM, the high-water mark of this address space: ru_maxrss is the same for a process that
    was started small, but a child keeps the ru_maxrss of the parent it was forked from, even across exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class PillowEngine:
    def __init__(self, kind: str, imaging_path: str | None = None) -> None:
        if imaging_path:
            sys.path.insert(0, imaging_path)
        import imaging
        from PIL import Image, ImageOps

        self.imaging, self.Image, self.ImageOps, self.kind = imaging, Image, ImageOps, kind

    # Set by the floor engine: (wall, cpu) seconds of the timed parts alone, which the worker reports instead.
    timed: tuple[float, float] | None = None

    def floor(self, data: bytes, edges: list[int], quality: int, fmt: str) -> list[bytes]:
        """libjpeg-turbo's RGB decode at the DCT scale ours picks, then ours' encoder on each variant, timed alone.

        The variants are made between the two, untimed, from the decoded image (YCbCr for JPEG, as ours hands
        them to the encoder), so what is timed is what no pipeline on this decoder and encoder can skip.
        """
        Image, resize = self.Image, self.imaging.resize
        im = Image.open(io.BytesIO(data))
        stored = im.size
        wall, cpu = time.perf_counter(), time.process_time()
        if im.format == "JPEG":
            im.draft("RGB", resize.draft_size(stored, max(edges)))
        im.load()
        decode = time.perf_counter() - wall, time.process_time() - cpu
        mode = "YCbCr" if fmt == "jpeg" else "RGB"
        variants = [im.resize(resize.fit(stored, edge), Image.Resampling.BILINEAR).convert(mode) for edge in edges]
        wall, cpu = time.perf_counter(), time.process_time()
        outputs = [self.imaging.encode.encode(v, fmt, quality) for v in variants]
        self.timed = (decode[0] + time.perf_counter() - wall, decode[1] + time.process_time() - cpu)
        return outputs

    def run(self, data: bytes, edges: list[int], quality: int, fmt: str = "jpeg") -> list[bytes]:
        if self.kind == "floor":
            return self.floor(data, edges, quality, fmt)
        if self.kind in ("ours", "decode"):
            from imageservice.config import processing_threads

            specs = tuple(self.imaging.VariantSpec(f"v{edge}", edge) for edge in edges)
            options = {"variants": specs, "quality": quality, "output_format": fmt}
            # An imaging package from before Recipe.threads (--compare-imaging) runs on one thread.
            if "threads" in self.imaging.Recipe.__dataclass_fields__:
                options["threads"] = processing_threads(os.environ)
            recipe = self.imaging.Recipe(**options)
            if self.kind == "decode":
                self.imaging.decode.read(data, recipe)
                return []
            result = self.imaging.build_variants(data, recipe)
            return [variant.data for variant in result.variants]
        Image = self.Image
        im = self.ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        im = im.convert("RGB") if im.mode != "RGB" else im
        im.info = {}
        outputs = []
        for edge in edges:
            small = im.resize(self.imaging.resize.fit(im.size, edge), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            small.save(buffer, fmt.upper(), quality=quality)
            outputs.append(buffer.getvalue())
        return outputs


class VipsEngine:
    def __init__(self, chain: bool) -> None:
        import pyvips

        pyvips.cache_set_max(0)
        self.pyvips, self.chain = pyvips, chain

    def run(self, data: bytes, edges: list[int], quality: int, fmt: str = "jpeg") -> list[bytes]:
        thumbnail = self.pyvips.Image.thumbnail_buffer
        if not self.chain:
            return [
                thumbnail(data, edge, height=edge, size="down").jpegsave_buffer(Q=quality, keep="none")
                for edge in edges
            ]
        largest = thumbnail(data, edges[0], height=edges[0], size="down").copy_memory()
        outputs = [largest.jpegsave_buffer(Q=quality, keep="none")]
        for edge in edges[1:]:
            im = largest.thumbnail_image(edge, height=edge, size="down")
            outputs.append(im.jpegsave_buffer(Q=quality, keep="none"))
        return outputs


def worker(engine_name: str, imaging_path: str | None) -> None:
    """Serve one engine over stdin/stdout, one JSON request per line."""
    from PIL import Image

    if engine_name in ("pyvips", "pyvips-chain"):
        engine = VipsEngine(chain=engine_name == "pyvips-chain")
    else:
        engine = PillowEngine(engine_name if engine_name in ("naive", "decode", "floor") else "ours", imaging_path)
    baseline = _rss_kb()
    placeholder_ms = []
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            print(json.dumps({"max_rss_kb": _rss_kb(), "baseline_rss_kb": baseline, "placeholder_ms": placeholder_ms}))
            return
        data = Path(request["path"]).read_bytes()
        cpu, wall = time.process_time(), time.perf_counter()
        outputs = engine.run(data, request["edges"], request["quality"], request.get("format", "jpeg"))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if getattr(engine, "timed", None):
            wall, cpu = engine.timed
        files, sizes = [], []
        for index, output in enumerate(outputs):
            file = f"{request['out']}-{index}.{request.get('format', 'jpeg')}"
            Path(file).write_bytes(output)
            files.append(file)
            sizes.append(Image.open(io.BytesIO(output)).size)
        if engine_name == "ours" and request.get("placeholder"):
            # The blurhash is part of build_variants' time; timed here on its own, from the smallest output.
            from imaging.placeholder import blurhash

            smallest = Image.open(io.BytesIO(outputs[-1])).convert("RGB")
            start = time.perf_counter()
            for _ in range(10):
                blurhash(smallest)
            placeholder_ms.append((time.perf_counter() - start) * 100)
        answer = {"ms": wall * 1000, "cpu_ms": cpu * 1000, "bytes": [len(o) for o in outputs], "sizes": sizes}
        print(json.dumps(answer | {"files": files}), flush=True)


class Worker:
    """A running engine process."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )

    def ask(self, request: dict) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker stopped (exit code {self.process.wait()})")
        return json.loads(line)

    def close(self) -> dict:
        answer = self.ask({"quit": True})
        self.process.stdin.close()
        self.process.wait(timeout=30)
        return answer


def available_engines(wanted: list[str]) -> tuple[list[str], dict[str, str]]:
    """The wanted engines that can run here, and why the others cannot."""
    missing = {}
    try:
        import pyvips  # noqa: F401
    except (ImportError, OSError) as error:
        missing["pyvips"] = missing["pyvips-chain"] = (
            f"pyvips not importable ({error}); pip install -r bench/requirements.txt"
        )
    if not (ROOT / "bench" / "node_modules" / "sharp").is_dir():
        missing["sharp"] = "sharp not installed; npm ci --prefix bench"
    return [name for name in wanted if name not in missing], {k: v for k, v in missing.items() if k in wanted}


def start_worker(name: str, imaging_path: str | None, cores: int | None = None) -> Worker:
    """An engine's process; with cores, pinned to that many CPUs (taskset), as a Lambda with that many vCPUs."""
    env = dict(os.environ, VIPS_CONCURRENCY="1", OMP_NUM_THREADS="1", UV_THREADPOOL_SIZE="1")
    pin = ["taskset", "-c", ",".join(str(cpu) for cpu in range(cores))] if cores else []
    if name == "sharp":
        return Worker(name, [*pin, "node", str(ROOT / "bench" / "sharp_variants.mjs")], env)
    command = [*pin, sys.executable, __file__, "--worker", name.split("@")[0]]
    if imaging_path:
        command += ["--imaging-path", imaging_path]
    return Worker(name, command, env)


def engine_label(name: str, cores: int | None) -> str:
    return f"{name} {cores}c" if cores else name


# --------------------------------------------------------------------------- quality


def luma(im):
    import numpy as np

    return np.asarray(im.convert("L"), dtype=np.float64)


class Reference:
    """The slow way, per photo: full decode, EXIF orientation, one Lanczos resize from the full image."""

    def __init__(self, path: Path) -> None:
        from PIL import Image, ImageOps

        im = ImageOps.exif_transpose(Image.open(path))
        self.full = im.convert("RGB")
        self.sizes: dict[tuple[int, int], object] = {}

    def at(self, size: tuple[int, int]):
        """The reference at size as luma (L) and chroma (Cb, Cr) planes."""
        from PIL import Image

        if size not in self.sizes:
            small = self.full.resize(size, Image.Resampling.LANCZOS)
            self.sizes[size] = _planes(small)
        return self.sizes[size]


def _planes(im) -> list:
    """Luma as Pillow's L (ITU-R 601, what the tests score), then Cb and Cr, as float arrays."""
    import numpy as np

    _, cb, cr = im.convert("YCbCr").split()
    return [np.asarray(band, dtype=np.float64) for band in (im.convert("L"), cb, cr)]


def ssim(file: str, reference: Reference, chroma: bool = False) -> float:
    """Luma SSIM of a variant against the reference; with chroma, the mean of Cb's and Cr's instead."""
    import numpy as np
    from PIL import Image
    from skimage.metrics import structural_similarity

    with Image.open(file) as im:
        out = _planes(im.convert("RGB"))
    ref = reference.at((out[0].shape[1], out[0].shape[0]))
    bands = (1, 2) if chroma else (0,)
    scores = [
        1.0 if np.array_equal(out[b], ref[b]) else structural_similarity(out[b], ref[b], data_range=255) for b in bands
    ]
    return float(statistics.mean(scores))


# --------------------------------------------------------------------------- the comparison


def megapixels(path: Path) -> float:
    from PIL import Image

    with Image.open(path) as im:
        return im.width * im.height / 1e6


def compare(args: argparse.Namespace, photos: list[Path], kind: str = "jpeg") -> dict[str, dict]:
    """Run every engine over the photos, print the tables, and return each engine's summary by label."""
    wanted = [name for name in args.engines if not (kind == "heic" and name in NO_HEIC)]
    if args.format != "jpeg":
        wanted = [name for name in wanted if name in ("ours", "naive", "decode", "floor")]
    engines, missing = available_engines(wanted)
    if args.compare_imaging:
        engines.insert(1, "ours@" + args.compare_imaging)
    for name, reason in missing.items():
        print(f"skipping {name}: {reason}")
    unable = [name for name in args.engines if name in NO_HEIC]
    if kind == "heic" and unable:
        print(f"skipping {', '.join(unable)}: their builds do not decode HEVC")
    labels = {engine_label(name, cores): (name, cores) for name in engines for cores in args.cores}
    workers = {
        label: start_worker(name, name.split("@")[1] if "@" in name else None, cores)
        for label, (name, cores) in labels.items()
    }
    names = list(workers)
    results: dict[str, dict[Path, list[dict]]] = {label: {p: [] for p in photos} for label in names}
    scratch = Path(tempfile.mkdtemp(prefix="bench-processing-"))
    edges = list(args.edges)
    base = {"edges": edges, "format": args.format}
    try:
        # One untimed warm-up per engine: imports, first-call allocations, the JIT in node.
        for w in workers.values():
            w.ask(base | {"path": str(photos[0]), "quality": args.quality, "out": str(scratch / "warm")})
        for round_ in range(args.rounds):
            for index, photo in enumerate(photos):
                order = names[(round_ + index) % len(names) :] + names[: (round_ + index) % len(names)]
                for label in order:
                    out = scratch / f"{_file_label(label)}-{index}-q{args.quality}"
                    request = base | {"path": str(photo), "quality": args.quality, "out": str(out)}
                    results[label][photo].append(workers[label].ask(request | {"placeholder": round_ == 0}))
        # Quality 100: the same engines, untimed, so what is left of SSIM is resampling.
        best = {label: {} for label in names}
        for index, photo in enumerate(photos):
            for label in names:
                out = scratch / f"{_file_label(label)}-{index}-q100"
                best[label][photo] = workers[label].ask(base | {"path": str(photo), "quality": 100, "out": str(out)})
        finals = {label: w.close() for label, w in workers.items()}
    finally:
        for w in workers.values():
            if w.process.poll() is None:
                w.process.kill()

    cores = "/".join(f"{c} core{'s' if c > 1 else ''}" for c in args.cores if c) or "unpinned"
    print(
        f"\n{kind.upper()}: {len(photos)} photos, {statistics.median(megapixels(p) for p in photos):.1f} MP median, "
        f"{args.rounds} rounds, variants {'/'.join(map(str, edges))} {args.format.upper()} q{args.quality}, {cores}"
    )
    mp = {photo: megapixels(photo) for photo in photos}
    summary = {}
    for label in names:
        per_image = [statistics.median(r["ms"] for r in runs) for runs in results[label].values()]
        cpu = [statistics.median(r["cpu_ms"] for r in runs) for runs in results[label].values()]
        rate = [mp[p] / (statistics.median(r["ms"] for r in runs) / 1000) for p, runs in results[label].items()]
        nbytes = [sum(runs[0]["bytes"]) for runs in results[label].values()]
        final = finals[label]
        summary[label] = {
            "engine": labels[label][0],
            "cores": labels[label][1],
            "kind": kind,
            "ms": statistics.median(per_image),
            "cpu_ms": statistics.median(cpu),
            "mps": statistics.median(rate),
            "rss": (final["max_rss_kb"] - final.get("baseline_rss_kb", 0)) / 1024,
            "rss_total": final["max_rss_kb"] / 1024,
            "bytes": statistics.median(nbytes),
        }
    header = f"{'engine':16} {'ms/image':>9} {'cpu ms':>8} {'MP/s':>6} {'peak RSS MB':>16} {'bytes (3 variants)':>19}"
    print(header)
    for label, s in summary.items():
        rss = (
            f"{s['rss']:.0f} (+{s['rss_total'] - s['rss']:.0f} base)"
            if s["engine"] != "sharp"
            else f"{s['rss_total']:.0f} (process)"
        )
        print(f"{label:16} {s['ms']:9.0f} {s['cpu_ms']:8.0f} {s['mps']:6.1f} {rss:>16} {s['bytes']:19,.0f}")
    print("  ms/image and cpu ms: median over photos of each photo's median over rounds; bytes: median photo.")
    print("  peak RSS: the worker's peak (VmHWM) less its RSS after imports (sharp: the node process's maxRSS).")
    for c in args.cores:
        ours, decode = summary.get(engine_label("ours", c)), summary.get(engine_label("decode", c))
        if ours and decode:
            after, cpu = ours["ms"] - decode["ms"], ours["cpu_ms"] - decode["cpu_ms"]
            where = f" ({c}c)" if c else ""
            print(
                f"  ours after decode{where}: {after:.0f} ms ({ours['ms']:.0f} less {decode['ms']:.0f}), "
                f"cpu {cpu:.0f} ms ({ours['cpu_ms']:.0f} less {decode['cpu_ms']:.0f})"
            )

    print("\nSSIM against the slow reference, per variant: min / median over photos (luma; chroma: Cb and Cr")
    print("at q100, min over photos and variants; 4:2:0 but pyvips, which writes 4:4:4 from Q 90 up)")
    print(f"{'engine':16} {'quality':>7} " + " ".join(f"{edge:>15}" for edge in edges) + f" {'chroma':>7}")
    references = {photo: Reference(photo) for photo in photos}
    worst_q100: dict[str, dict[Path, float]] = {}
    for label in names:
        if labels[label][0] in ("decode", "floor"):
            continue
        for q, runs in ((f"q{args.quality}", {p: r[0] for p, r in results[label].items()}), ("q100", best[label])):
            scores = [[ssim(runs[p]["files"][i], references[p]) for p in photos] for i in range(len(edges))]
            if q == "q100":
                worst_q100[label] = {p: min(s[j] for s in scores) for j, p in enumerate(photos)}
            line = f"{label:16} {q:>7} " + " ".join(f"{min(s):.4f} / {statistics.median(s):.4f}" for s in scores)
            if q == "q100":
                chroma = [
                    ssim(runs[p]["files"][i], references[p], chroma=True) for p in photos for i in range(len(edges))
                ]
                line += f" {min(chroma):7.4f}"
            print(line)
    placeholder = finals.get(engine_label("ours", args.cores[0]), {}).get("placeholder_ms") or []
    if placeholder:
        print(
            f"\nblurhash placeholder (part of ours): {statistics.median(placeholder):.2f} ms median, "
            f"{max(placeholder):.2f} ms max per image"
        )

    per_photo(photos, results, summary, worst_q100, args.cores, mp)

    print("\nratios (ours / other, median ms per image at the same cores; <= 1.0 means ours is no slower)")
    goals = {"naive": 1 / 2.5, "pyvips": 1.0, "pyvips-chain": 1.0, "sharp": 1.0}
    for label, s in summary.items():
        ours = summary.get(engine_label("ours", s["cores"]))
        if s["engine"] in ("ours", "decode") or ours is None:
            continue
        ratio = ours["ms"] / s["ms"]
        cpu_ratio = ours["cpu_ms"] / s["cpu_ms"]
        goal = goals.get(s["engine"])
        verdict = "" if goal is None else f"  goal <= {goal:.2f}: {'met' if ratio <= goal else 'NOT met'}"
        print(f"  ours/{label:14} {ratio:5.2f} (cpu {cpu_ratio:5.2f}){verdict}")
    for c in args.cores[1:]:
        one, more = summary.get(engine_label("ours", args.cores[0])), summary.get(engine_label("ours", c))
        if one and more:
            cpu = more["cpu_ms"] / one["cpu_ms"]
            print(f"  ours {c} cores / {args.cores[0]}: {more['ms'] / one['ms']:5.2f} (cpu {cpu:5.2f})")
    shutil_rmtree(scratch)
    return summary


def per_photo(photos, results, summary, worst_q100, cores, mp) -> None:
    """Each photo: ours against pyvips chaining its variants, the floor, and both engines' worst q100 SSIM."""
    for c in cores:
        ours, chain, floor, decode = (engine_label(name, c) for name in ("ours", "pyvips-chain", "floor", "decode"))
        if ours not in summary:
            continue
        where = f" ({c} core{'s' if c > 1 else ''})" if c else ""
        print(f"\nper photo{where}: wall ms and CPU ms (median over rounds), worst q100 luma SSIM over the variants")
        print(
            f"{'photo':24} {'MP':>5} {'ours':>6} {'decode':>6} {'chain':>6} {'ours/chain':>10} {'floor':>6} "
            f"{'ours-floor':>10} {'CPU: ours':>9} {'chain':>6} {'ours/chain':>10} {'floor':>6} "
            f"{'SSIM ours':>9} {'SSIM chain':>10}"
        )

        def ms(label: str, photo: Path, key: str = "ms") -> float | None:
            runs = results.get(label, {}).get(photo)
            return statistics.median(r[key] for r in runs) if runs else None

        def cells(o, d, v, f) -> list[str]:
            return [
                f"{o:6.0f}" if d is None else f"{o:6.0f} {d:6.0f}",
                f"{v:6.0f} {o / v:10.2f}" if v else f"{'-':>6} {'-':>10}",
                f"{f:6.0f}" if f is not None else f"{'-':>6}",
            ]

        for photo in photos:
            wall = [ms(label, photo) for label in (ours, decode, chain, floor)]
            cpu = [ms(label, photo, "cpu_ms") for label in (ours, decode, chain, floor)]
            line = [f"{photo.name[:24]:24} {mp[photo]:5.1f}", *cells(*wall)]
            line.append(f"{wall[0] - wall[3]:10.0f}" if wall[3] is not None else f"{'-':>10}")
            line += [f"{cpu[0]:9.0f}", *cells(cpu[0], None, cpu[2], cpu[3])[1:]]
            line.append(f"{worst_q100.get(ours, {}).get(photo, float('nan')):9.4f}")
            line.append(f"{worst_q100[chain][photo]:10.4f}" if chain in worst_q100 else f"{'-':>10}")
            print(" ".join(line))


def _file_label(label: str) -> str:
    return label.replace("@", "_").replace("/", "_").replace(" ", "_")


def plot(summaries: list[dict], path: Path, title: str, footer: str, key: str = "ms") -> None:
    """Bars of ms per image and bytes per image, per engine, for each input kind and core count; the floor as a
    line over ours' bar; the machine and the command under the chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({(s["kind"], s["cores"] or 0) for s in summaries})
    engines = list(dict.fromkeys(s["engine"] for s in summaries if s["engine"] not in ("decode", "floor")))
    decoded = {(s["kind"], s["cores"] or 0): s[key] for s in summaries if s["engine"] == "decode"}
    floors = {(s["kind"], s["cores"] or 0): s[key] for s in summaries if s["engine"] == "floor"}
    figure, (times, sizes) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    width = 0.8 / len(engines)
    for offset, engine in enumerate(engines):
        rows = {(s["kind"], s["cores"] or 0): s for s in summaries if s["engine"] == engine}
        positions = [i + (offset - (len(engines) - 1) / 2) * width for i in range(len(groups))]
        ms = [rows[g][key] if g in rows else 0 for g in groups]
        nbytes = [rows[g]["bytes"] / 1000 if g in rows else 0 for g in groups]
        label = "ours before (--compare-imaging)" if "@" in engine else engine
        colour = f"C{offset}"
        bars = times.bar(positions, ms, width, label=label, color=colour)
        times.bar_label(bars, labels=[f"{v:.0f}" if v else "" for v in ms], fontsize=7)
        if engine == "ours" and decoded:
            # The part of ours that is the decode step (the "decode" engine), hatched.
            part = [decoded.get(g, 0) for g in groups]
            times.bar(positions, part, width, fill=False, hatch="//", edgecolor="white", label="ours: decode step")
        if engine == "ours" and floors:
            level = [floors.get(g, 0) for g in groups]
            left = [p - width / 2 for p in positions]
            right = [p + width / 2 for p in positions]
            times.hlines(level, left, right, colors="black", linewidth=2, label="floor: decode + 3 encodes")
        sizes.bar(positions, nbytes, width, label=label, color=colour)
    names = [
        f"{kind.upper()}\n{cores} core{'s' if cores > 1 else ''}" if cores else kind.upper() for kind, cores in groups
    ]
    time_label = "CPU ms per image (median)" if key == "cpu_ms" else "ms per image (median)"
    for axis, label in ((times, time_label), (sizes, "kB per image (3 variants)")):
        axis.set_xticks(range(len(groups)), names)
        axis.set_ylabel(label)
        axis.grid(axis="y", alpha=0.3)
    times.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.supxlabel(footer, fontsize=7, ha="left", x=0.01)
    figure.savefig(path, dpi=110)
    print(f"\nchart written to {path}")


def machine() -> str:
    """The CPU model, the cores this process may use, and Python's and Pillow's versions."""
    import platform

    import PIL

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    return f"{model}, {cores} cores, Python {platform.python_version()}, Pillow {PIL.__version__}"


def load_text() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- encoder settings


def encoders(photos: list[Path], rounds: int) -> None:
    """Time against bytes for each encoder setting, on the variants ours makes from each photo."""
    import imaging
    import numpy as np
    from PIL import Image
    from skimage.metrics import structural_similarity

    specs = tuple(imaging.VariantSpec(f"v{edge}", edge) for edge in EDGES)
    settings = [
        ("jpeg", "baseline", {"quality": 80, "subsampling": "4:2:0"}),
        ("jpeg", "baseline+optimize", {"quality": 80, "subsampling": "4:2:0", "optimize": True}),
        ("jpeg", "progressive", {"quality": 80, "subsampling": "4:2:0", "progressive": True}),
        *(("webp", f"method {m}", {"quality": 80, "method": m}) for m in (0, 2, 4, 6)),
        *(("avif", f"speed {s}", {"quality": 80, "speed": s, "subsampling": "4:2:0"}) for s in (6, 8, 9, 10)),
        *(("png", f"compress_level {level}", {"compress_level": level}) for level in (1, 3, 4, 6, 9)),
    ]
    images = []
    for photo in photos:
        result = imaging.build_variants(photo.read_bytes(), imaging.Recipe(variants=specs, output_format="png"))
        images.append([Image.open(io.BytesIO(v.data)).convert("RGB") for v in result.variants])
    table: dict[tuple[str, str, int], dict[str, list[float]]] = {}
    for round_ in range(rounds):
        for variants in images:
            for fmt, label, options in settings[round_ % len(settings) :] + settings[: round_ % len(settings)]:
                for edge, im in zip(EDGES, variants, strict=True):
                    buffer = io.BytesIO()
                    start = time.perf_counter()
                    im.save(buffer, fmt.upper(), **options)
                    elapsed = (time.perf_counter() - start) * 1000
                    row = table.setdefault((fmt, label, edge), {"ms": [], "bytes": [], "ssim": []})
                    row["ms"].append(elapsed)
                    if round_ == 0:
                        row["bytes"].append(len(buffer.getvalue()))
                        out = np.asarray(Image.open(buffer).convert("L"), dtype=np.float64)
                        ref = np.asarray(im.convert("L"), dtype=np.float64)
                        row["ssim"].append(structural_similarity(out, ref, data_range=255))
    print(
        f"\nencoder settings at quality 80 on ours' variants of {len(photos)} photos, {rounds} rounds: "
        "median ms, median bytes, median luma SSIM against the unencoded variant"
    )
    print(f"{'format':6} {'setting':18} " + " ".join(f"{f'{edge} px ms/bytes/SSIM':>28}" for edge in EDGES))
    for fmt, label, _ in settings:
        cells = []
        for edge in EDGES:
            row = table[(fmt, label, edge)]
            ms, nbytes, score = (statistics.median(row[k]) for k in ("ms", "bytes", "ssim"))
            cells.append(f"{ms:7.1f} {nbytes:10,.0f} {score:.4f}")
        print(f"{fmt:6} {label:18} " + " ".join(f"{c:>28}" for c in cells))


# --------------------------------------------------------------------------- encoders for the edge

EDGE_WIDTHS = (320, 640, 960, 1280)


def edge_encoders(photos: list[Path], rounds: int, quality: int, render_width: int = 640) -> None:
    """WebP methods 0-6 and AVIF speeds 6-10 against sharp's defaults, on each photo resized to each width.

    The input of every encoder is the photo's slow-reference resize (full decode, Lanczos) to the width, as RGB;
    each encode is timed alone, one thread (libavif max_threads=1, sharp concurrency 1), interleaved per photo and
    round. SSIM: luma of the decoded output against that input. Then the whole render as the edge runs it: ours'
    build_variants from the photo's bytes to one variant render_width wide, with the imaging core's own settings.
    """
    import imaging
    import numpy as np
    from imaging import encode as encoding
    from PIL import Image
    from skimage.metrics import structural_similarity

    settings = [
        *(("webp", f"method {m}", {"quality": quality, "method": m}) for m in range(7)),
        *(
            ("avif", f"speed {s}", {"quality": quality, "speed": s, "subsampling": "4:2:0", "max_threads": 1})
            for s in (6, 7, 8, 9, 10)
        ),
    ]
    sharp = None
    if (ROOT / "bench" / "node_modules" / "sharp").is_dir():
        sharp = start_worker("sharp", None)
        settings += [("webp", "sharp default", None), ("avif", "sharp default", None)]
    else:
        print("skipping sharp: not installed; npm ci --prefix bench")
    scratch = Path(tempfile.mkdtemp(prefix="bench-edge-"))
    inputs: dict[tuple[Path, int], tuple[Path, object]] = {}
    for photo in photos:
        reference = Reference(photo)
        for width in EDGE_WIDTHS:
            size = (width, max(1, round(reference.full.height * width / reference.full.width)))
            im = reference.full.resize(size, Image.Resampling.LANCZOS)
            png = scratch / f"{photo.stem}-{width}.png"
            im.save(png, compress_level=1)
            inputs[(photo, width)] = (png, im)

    def luma(im) -> np.ndarray:
        return np.asarray(im.convert("L"), dtype=np.float64)

    table: dict[tuple[str, str, int], dict[str, list[float]]] = {}
    try:
        for round_ in range(rounds):
            for photo in photos:
                turn = (round_ + photos.index(photo)) % len(settings)
                for fmt, label, options in settings[turn:] + settings[:turn]:
                    for width in EDGE_WIDTHS:
                        png, im = inputs[(photo, width)]
                        row = table.setdefault((fmt, label, width), {"ms": [], "cpu": [], "bytes": [], "ssim": []})
                        if options is None:
                            out = scratch / f"{photo.stem}-{width}-sharp.{fmt}"
                            answer = sharp.ask({"encode": str(png), "format": fmt, "repeat": 1, "out": str(out)})
                            row["ms"].append(answer["ms"][0])
                            row["cpu"].append(answer["cpu_ms"][0])
                            data = out.read_bytes()
                        else:
                            buffer = io.BytesIO()
                            start, cpu = time.perf_counter(), time.process_time()
                            im.save(buffer, fmt.upper(), **options)
                            row["ms"].append((time.perf_counter() - start) * 1000)
                            row["cpu"].append((time.process_time() - cpu) * 1000)
                            data = buffer.getvalue()
                        if round_ == 0:
                            row["bytes"].append(len(data))
                            decoded = luma(Image.open(io.BytesIO(data)).convert("RGB"))
                            row["ssim"].append(structural_similarity(decoded, luma(im), data_range=255))
    finally:
        if sharp is not None:
            sharp.close()
        shutil_rmtree(scratch)
    print(
        f"\nencoders at quality {quality} (sharp: its defaults) on {len(photos)} photos resized to each width, "
        f"{rounds} rounds, one thread: median CPU ms (wall ms) / median kB / worst luma SSIM against the "
        "unencoded input"
    )
    print(f"{'format':6} {'setting':14} " + " ".join(f"{f'{width} px':>31}" for width in EDGE_WIDTHS))
    for fmt, label, _ in settings:
        cells = []
        for width in EDGE_WIDTHS:
            row = table[(fmt, label, width)]
            cpu, ms = statistics.median(row["cpu"]), statistics.median(row["ms"])
            kb = statistics.median(row["bytes"]) / 1000
            cells.append(f"{cpu:6.1f} ({ms:6.1f}) {kb:6.1f} {min(row['ssim']):.4f}")
        print(f"{fmt:6} {label:14} " + " ".join(f"{c:>31}" for c in cells))
    print(
        f"the imaging core's settings (imaging/encode.py): WebP method {encoding.WEBP_METHOD}, AVIF speed "
        f"{encoding.AVIF_FAST_SPEED} up to {encoding.AVIF_FAST_PIXELS:,} pixels, {encoding.AVIF_SPEED} above"
    )

    # The render as the edge does it: bytes of the original in, one variant render_width wide out.
    print(
        f"\nrender at {render_width} px (build_variants, one thread), CPU ms (wall ms) per photo, median of {rounds} "
        "rounds"
    )
    print(f"{'photo':24} {'MP':>5} " + " ".join(f"{fmt:>15}" for fmt in ("jpeg", "webp", "avif")))
    worst = {}
    for photo in photos:
        data = photo.read_bytes()
        with Image.open(photo) as im:
            shown = imaging.orient.oriented(im.size, imaging.orient.orientation(im))
        edge = render_width if shown[0] >= shown[1] else round(render_width * shown[1] / shown[0])
        cells = []
        for fmt in ("jpeg", "webp", "avif"):
            recipe = imaging.Recipe(variants=(imaging.VariantSpec("edge", edge),), output_format=fmt, quality=quality)
            times, cpus = [], []
            for _ in range(rounds):
                start, cpu = time.perf_counter(), time.process_time()
                imaging.build_variants(data, recipe)
                times.append((time.perf_counter() - start) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
            worst[fmt] = max(worst.get(fmt, 0), statistics.median(cpus))
            cells.append(f"{statistics.median(cpus):6.0f} ({statistics.median(times):6.0f})")
        print(f"{photo.name[:24]:24} {megapixels(photo):5.1f} " + " ".join(cells))
    print("slowest photo, CPU: " + ", ".join(f"{fmt} {ms:.0f} ms" for fmt, ms in worst.items()))


# --------------------------------------------------------------------------- time after the decode step


def _imaging_from(folder: str, name: str):
    """The imaging package in folder, imported under another name so that two versions share one process."""
    import importlib.util

    init = Path(folder) / "imaging" / "__init__.py"
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    importlib.import_module(f"{name}.decode")
    return module


def after_decode(photos: list[Path], rounds: int, compare: str | None) -> None:
    """CPU ms of the decode step (decode.read) and of build_variants, per source, one thread, in one process.

    Every version and source runs in turn within each round, so the machine's load falls on all alike; "after
    decode" is the median over runs of build_variants less decode.read of the same run's bytes.
    """
    import imaging

    versions = {"ours": imaging} | ({"before": _imaging_from(compare, "imaging_before")} if compare else {})
    sources = [(kind, p) for p in photos for kind in ("jpeg", "heic")]
    twins = dict(zip(photos, heic_twins(photos), strict=True))
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for kind, photo in sources:
            data = (twins[photo] if kind == "heic" else photo).read_bytes()
            for version, module in versions.items():
                specs = tuple(module.VariantSpec(f"v{edge}", edge) for edge in EDGES)
                recipe = module.Recipe(variants=specs, quality=80)
                start = time.process_time()
                module.decode.read(data, recipe)
                decoded = time.process_time()
                module.build_variants(data, recipe)
                runs.setdefault((version, kind), []).append((decoded - start, time.process_time() - decoded))
    print(
        f"\nCPU ms per image, {len(photos)} photos as JPEG and as HEIC, {rounds} rounds, one thread, "
        f"variants {'/'.join(map(str, EDGES))} JPEG q80 (median over photos and rounds)"
    )
    print(f"{'version':8} {'source':6} {'decode step':>11} {'build_variants':>14} {'after decode':>12}")
    for (version, kind), values in runs.items():
        decode_ms = statistics.median(d for d, _ in values) * 1000
        total_ms = statistics.median(t for _, t in values) * 1000
        after_ms = statistics.median(t - d for d, t in values) * 1000
        print(f"{version:8} {kind:6} {decode_ms:11.0f} {total_ms:14.0f} {after_ms:12.0f}")


# --------------------------------------------------------------------------- memory at the pixel limit


def _limit_photo(kind: str) -> Path:
    """A 50 MP (8660x5773) photo-like JPEG or PNG, made once."""
    from PIL import Image, ImageChops

    folder = ROOT / "bench" / "results" / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"limit-8660x5773.{kind}"
    if not path.exists():
        print(f"generating {path.name}", file=sys.stderr)
        im = photo_like(4330, 2887, seed=50).resize((8660, 5773), Image.Resampling.BICUBIC)
        grain = Image.effect_noise(im.size, 12).convert("RGB")
        im = ImageChops.add(im, grain, scale=1.0, offset=-128)
        im.save(path, "JPEG" if kind == "jpg" else "PNG", quality=90)
    return path


def memory_probe(path: str, quality: int, output_format: str) -> None:
    """In a fresh process: RSS after imports, then peak RSS and time for one build_variants."""
    import imaging
    from imageservice.config import parse_variants

    variants = parse_variants(os.environ.get("VARIANTS", "large=2048,medium=1024,thumb=256"))
    specs = tuple(imaging.VariantSpec(v.name, v.long_edge) for v in variants)
    recipe = imaging.Recipe(variants=specs, quality=quality, output_format=output_format)
    baseline = _rss_kb()
    data = Path(path).read_bytes()
    start = time.perf_counter()
    imaging.build_variants(data, recipe)
    elapsed = time.perf_counter() - start
    print(json.dumps({"baseline_kb": baseline, "peak_kb": _rss_kb(), "seconds": elapsed, "input_bytes": len(data)}))


def memory(repeats: int) -> None:
    jpeg, png = _limit_photo("jpg"), _limit_photo("png")
    cases = [
        ("50 MP JPEG", jpeg, "original"),
        ("50 MP PNG", png, "original"),
        ("50 MP PNG to JPEG", png, "jpeg"),
        ("50 MP PNG to WebP", png, "webp"),
        ("50 MP PNG to AVIF", png, "avif"),
        ("12 MP JPEG", generated_photos(1)[0], "original"),
    ]
    print(f"\nbuild_variants(large=2048, medium=1024, thumb=256, quality 80), a fresh process per run, {repeats} runs")
    print("50 MP: 8660x5773 photo-like; output 'original' writes a JPEG as JPEG and a PNG as PNG")
    print(
        f"{'source':22} {'input MB':>8} {'RSS after imports MB':>21} {'peak RSS MB':>12} {'peak - imports MB':>18} "
        f"{'seconds (median, max)':>22}"
    )
    for label, path, output_format in cases:
        runs = []
        for _ in range(repeats):
            command = [sys.executable, __file__, "--memory-probe", str(path), "--output-format", output_format]
            out = subprocess.run(command, capture_output=True, text=True, check=True)
            runs.append(json.loads(out.stdout.splitlines()[-1]))
        peak = max(r["peak_kb"] for r in runs) / 1024
        base = statistics.median(r["baseline_kb"] for r in runs) / 1024
        seconds = [r["seconds"] for r in runs]
        print(
            f"{label:22} {runs[0]['input_bytes'] / 1e6:8.1f} {base:21.0f} {peak:12.0f} {peak - base:18.0f} "
            f"{statistics.median(seconds):14.2f}, {max(seconds):5.2f}"
        )


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, help="folder of photos (default: generated 12 MP photo-like JPEGs)")
    parser.add_argument("--count", type=int, default=6, help="generated photos (default 6)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quality", type=int, default=80)
    parser.add_argument("--edges", type=lambda s: tuple(int(e) for e in s.split(",")), default=EDGES)
    parser.add_argument(
        "--engines",
        type=lambda s: s.split(","),
        default=["ours", "decode", "floor", "naive", "pyvips", "pyvips-chain", "sharp"],
        help="comma-separated: ours, decode, floor, naive, pyvips, pyvips-chain, sharp",
    )
    parser.add_argument("--compare-imaging", metavar="DIR", help="also run the imaging package found in DIR")
    parser.add_argument("--kinds", type=lambda s: s.split(","), default=["jpeg"], help="jpeg, heic or both")
    parser.add_argument(
        "--cores", type=lambda s: [int(c) for c in s.split(",")], default=[None], help="pin engines: e.g. 1,2"
    )
    parser.add_argument("--format", default="jpeg", choices=["jpeg", "webp", "avif"], help="variant format")
    parser.add_argument("--plot", type=Path, metavar="FILE", help="draw ms and bytes per engine, kind, cores")
    parser.add_argument(
        "--plot-cpu", action="store_true", help="chart CPU ms instead of wall ms (on a machine busy with other work)"
    )
    parser.add_argument("--after-decode", action="store_true", help="CPU after the decode step, JPEG and HEIC")
    parser.add_argument("--encoders", action="store_true", help="encoder settings: time against bytes")
    parser.add_argument(
        "--edge", action="store_true", help="WebP and AVIF settings at 320-1280 px against sharp; the 640 px render"
    )
    parser.add_argument("--memory", action="store_true", help="peak RSS and time at the 50 MP pixel limit")
    parser.add_argument("--repeats", type=int, default=3, help="runs per source for --memory")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--imaging-path", help=argparse.SUPPRESS)
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    parser.add_argument("--output-format", default="original", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.imaging_path)
        return
    if args.memory_probe:
        memory_probe(args.memory_probe, args.quality, args.output_format)
        return
    if args.memory:
        memory(args.repeats)
        return
    photos = photos_in(args.photos) if args.photos else generated_photos(args.count)
    if args.encoders:
        encoders(photos, args.rounds)
        return
    if args.edge:
        edge_encoders(photos, args.rounds, args.quality)
        return
    if args.after_decode:
        after_decode(photos, args.rounds, args.compare_imaging)
        return
    load_before = load_text()
    summaries = []
    for kind in args.kinds:
        summaries += compare(args, heic_twins(photos) if kind == "heic" else photos, kind).values()
    print(f"\nmachine: {machine()}; load average before {load_before}, after {load_text()}")
    if args.plot:
        cores = "/".join(str(c) for c in args.cores if c) or "unpinned"
        source = "real photos" if args.photos else "generated photo-like JPEGs"
        mp = statistics.median(megapixels(p) for p in photos)
        photos_text = f"{len(photos)} {source}, {mp:.1f} MP median"
        variants = f"variants {'/'.join(map(str, args.edges))} {args.format.upper()} q{args.quality}"
        title = f"{photos_text}, {variants}, cores {cores}, {args.rounds} rounds"
        command = "python " + " ".join(["bench/bench_processing.py", *sys.argv[1:]])
        footer = f"{machine()}; load average {load_before} before, {load_text()} after\n{command}"
        plot(summaries, args.plot, title, footer, "cpu_ms" if args.plot_cpu else "ms")


if __name__ == "__main__":
    main()
