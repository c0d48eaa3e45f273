"""What the isolation (imaging.isolation) costs per image, next to processing in the handler's own process.

    .venv/bin/python bench/bench_isolation.py                 # 12 MP JPEG, 21 rounds
    .venv/bin/python bench/bench_isolation.py --rounds 41 --size 4032x3024

Three processes, each importing what ProcessFunction's handler imports (boto3, Powertools, the imaging core)
and holding the same JPEG bytes, as a warm Lambda environment does: "direct" calls imaging.build_variants in
its own process (as ProcessFunction did before isolation), "warm worker" through imaging.run_isolated with
the limits ProcessFunction sets (1769 MB, a 55 s deadline) as ProcessFunction does now (the worker process
forked once, serving image after image), "fork per job" the same with fresh=True (a child forked for each
image, as the first version did). Each round runs the three in a rotating order; wall clock and CPU time
(the process's and its children's, so the worker's too: a child's CPU counts once it is reaped, hence the
warm worker's process adds the worker's own CPU per job, as the worker reports it with each answer) per image
(three variants, 2048/1024/256, JPEG quality 80); medians. CPU time is the steadier figure on a shared machine. The fork
per job process also times a child that does nothing ("fork only"), and a fourth process a warm worker's
job that does nothing ("round trip only": the image's bytes to the worker, None back; a process of its
own, as a worker serves one function and another would re-fork it).
"""

import argparse
import io
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

EDGES = (2048, 1024, 256)
MODES = ("direct", "warm", "fork")
NAMES = {"direct": "direct", "warm": "warm worker", "fork": "fork per job"}


def _nothing(*args) -> None:
    return None


def _worker_cpu() -> float:
    """The warm worker's CPU seconds as it said with its last answer (getrusage), 0 without a worker."""
    from imaging import isolation

    return 0.0 if isolation._worker is None else isolation._worker.cpu


def worker(mode: str, path: str) -> None:
    """Answer each line on stdin with the milliseconds one image took."""
    import aws_lambda_powertools  # noqa: F401 - what the handler has loaded
    import boto3  # noqa: F401
    import imaging
    from imageservice.config import Config, SignIn, VariantSize
    from processing import limits_for

    data = Path(path).read_bytes()
    recipe = imaging.Recipe(variants=tuple(imaging.VariantSpec(f"v{e}", e) for e in EDGES), quality=80)
    config = Config("stored", "processed", 1, 1, 50_000_000, tuple(VariantSize(f"v{e}", e) for e in EDGES), 80,
                    60, 900, SignIn(), threads=1, memory_mb=1769)

    def cpu() -> float:
        return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                   for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))

    def one(function, *args) -> str:
        worker_before = _worker_cpu()
        started, used = time.perf_counter(), cpu()
        deadline = time.monotonic() + 55
        if mode == "direct":
            function(*args, deadline)
        else:
            imaging.run_isolated(function, *args, deadline, limits=limits_for(config, deadline), deadline=deadline,
                                 fresh=mode == "fork")
        worker = _worker_cpu() - worker_before if mode in ("warm", "trip") else 0.0
        return f"{(time.perf_counter() - started) * 1000:.3f} {(cpu() - used + worker) * 1000:.3f}"

    for _ in range(2):  # warm up: imports, caches, the allocator, the worker
        one(_nothing, data, recipe) if mode == "trip" else one(imaging.build_variants, data, recipe)
    for line in sys.stdin:
        if line.strip() == "nothing":
            print(one(_nothing, data, recipe), flush=True)
        else:
            print(one(imaging.build_variants, data, recipe), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--size", default="4000x3000")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    from testkit.images import photo_like

    width, height = (int(n) for n in args.size.split("x"))
    buffer = io.BytesIO()
    photo_like(width, height, seed=1).save(buffer, "JPEG", quality=90)
    with tempfile.NamedTemporaryFile(suffix=".jpg") as jpeg:
        jpeg.write(buffer.getvalue())
        jpeg.flush()
        workers = {
            mode: subprocess.Popen([sys.executable, __file__, "--worker", mode, jpeg.name], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
            for mode in (*MODES, "trip")
        }

        def ask(mode: str, what: str = "image") -> tuple[float, float]:
            workers[mode].stdin.write(what + "\n")
            workers[mode].stdin.flush()
            wall, cpu = workers[mode].stdout.readline().split()
            return float(wall), float(cpu)

        times: dict[str, list[tuple[float, float]]] = {
            **{NAMES[mode]: [] for mode in MODES}, "fork only": [], "round trip only": []}
        for round_number in range(args.rounds):
            shift = round_number % len(MODES)
            for mode in MODES[shift:] + MODES[:shift]:
                times[NAMES[mode]].append(ask(mode))
            times["fork only"].append(ask("fork", "nothing"))
            times["round trip only"].append(ask("trip", "nothing"))
        for process in workers.values():
            process.stdin.close()
            process.wait()
    print(f"{width}x{height} JPEG ({len(buffer.getvalue()) / 1e6:.1f} MB) -> {EDGES}, {args.rounds} rounds, "
          f"Python {sys.version.split()[0]}")
    walls = {name: statistics.median(wall for wall, _ in values) for name, values in times.items()}
    cpus = {name: statistics.median(cpu for _, cpu in values) for name, values in times.items()}
    for name in times:
        print(f"  {name:15s} median {walls[name]:7.1f} ms wall, {cpus[name]:7.1f} ms CPU")
    for mode in ("warm", "fork"):
        for what, medians in (("wall", walls), ("CPU", cpus)):
            extra = medians[NAMES[mode]] - medians["direct"]
            print(f"  {NAMES[mode]} adds {extra:.1f} ms {what} per image ({extra / medians['direct']:+.1%})")


if __name__ == "__main__":
    main()
