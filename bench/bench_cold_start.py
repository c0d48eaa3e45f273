"""What each function costs at a cold start: the import of its handler module, and its package size.

    .venv/bin/python bench/bench_cold_start.py            # sizes from an existing .aws-sam/build
    .venv/bin/python bench/bench_cold_start.py --build    # scripts/build.sh first (sam build, arm64)
    .venv/bin/python bench/bench_cold_start.py --compare /work/main   # another checkout's src, side by side

Import time: a fresh interpreter per run (this venv's Python and packages, not Lambda's 3.13 on arm64),
the function's code directory and its layers (src/shared) on sys.path, the environment template.yaml
gives the function, timing `import <handler module>` alone; the median of --runs runs, interleaved across
functions. Python's own start-up is shown apart. The heaviest top-level imports come from one
`python -X importtime` run. "+ S3 client" is the import and then the first imageservice.aws.s3_client()
(boto3 is imported there, on first use): what a first request that reaches S3 waits for in all.

Package size: the function's and the shared layer's directories in .aws-sam/build as sam build leaves them,
unzipped (Lambda's 250 MB limit counts function and layers together unzipped) and zipped (what is
downloaded at a cold start), zipped here with deflate as sam package does.
"""

import argparse
import dataclasses
import io
import json
import os
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

ROOT = repo_paths.ROOT

from devstack.cfn.template import read_stack  # noqa: E402

DRIVER = """
import json, sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
heavy = ("PIL", "pillow_heif", "numpy", "boto3", "botocore", "aws_lambda_powertools")
loaded = [m for m in heavy if m in sys.modules]
modules = len(sys.modules)
client = None
try:
    from imageservice.aws import s3_client
    s3_client()
    client = (time.perf_counter() - start) * 1000
except ImportError:
    pass
print(json.dumps({{"ms": elapsed * 1000, "client_ms": client, "modules": modules, "loaded": loaded}}))
"""


def _env(function) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env |= function.environment
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (function.code_dir, *function.layer_dirs))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _import_once(function) -> dict:
    module = function.handler.rsplit(".", 1)[0]
    out = subprocess.run(
        [sys.executable, "-c", DRIVER.format(module=module)],
        cwd=function.code_dir,
        env=_env(function),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def _heaviest(function, count: int = 4) -> list[tuple[str, float]]:
    """What the handler module imports directly, by cumulative time, from -X importtime."""
    module = function.handler.rsplit(".", 1)[0]
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=function.code_dir,
        env=_env(function),
        capture_output=True,
        text=True,
        check=True,
    )
    direct = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        # Lines look like "import time:  self |  cumulative | <2 spaces per nesting level>name"; the
        # handler module is at depth 0 (one leading space), what it imports at depth 1.
        if cumulative.strip().isdigit() and depth == 1:
            direct.append((name.strip(), int(cumulative) / 1000))
    return sorted(direct, key=lambda item: -item[1])[:count]


def _rerooted(function, root: Path):
    """The same function with its code and layers taken from another checkout."""
    return dataclasses.replace(
        function,
        code_dir=root / function.code_dir.relative_to(ROOT),
        layer_dirs=tuple(root / layer.relative_to(ROOT) for layer in function.layer_dirs),
    )


def _startup_ms(runs: int) -> float:
    """Wall time of an interpreter that imports nothing of ours."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _size(path: Path) -> tuple[int, int, int]:
    """Unzipped bytes, zipped bytes and file count of a build directory."""
    files = [p for p in sorted(path.rglob("*")) if p.is_file()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.relative_to(path))
    return sum(f.stat().st_size for f in files), len(buffer.getvalue()), len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--build", action="store_true", help="run scripts/build.sh (sam build, arm64) first")
    parser.add_argument("--compare", type=Path, metavar="DIR", help="also time the functions in checkout DIR")
    args = parser.parse_args()
    if args.build:
        subprocess.run(["bash", "scripts/build.sh"], cwd=ROOT, check=True)

    functions = read_stack().functions
    others = {name: _rerooted(function, args.compare) for name, function in functions.items()} if args.compare else {}
    times: dict[str, list[dict]] = {name: [] for name in functions}
    before: dict[str, list[dict]] = {name: [] for name in others}
    for _ in range(args.runs):
        for name, function in functions.items():
            times[name].append(_import_once(function))
            if name in others:
                before[name].append(_import_once(others[name]))
    startup = _startup_ms(args.runs)

    build = ROOT / ".aws-sam" / "build"
    layer = _size(build / "SharedLayer") if (build / "SharedLayer").is_dir() else None
    print(
        f"Python {sys.version.split()[0]} start-up alone: {startup:.0f} ms (median of {args.runs}); "
        f"import times are on top of it"
    )
    if others:
        there = f"in {args.compare}"
        print(f"{'function':17} {'import ms':>9} {there:>24} {'ratio':>6} {'+ S3 client':>11} {'in it':>7}")
        for name, runs in before.items():
            ms, was = statistics.median(r["ms"] for r in times[name]), statistics.median(r["ms"] for r in runs)
            client = [r["client_ms"] for r in times[name] if r["client_ms"] is not None]
            client_was = [r["client_ms"] for r in runs if r["client_ms"] is not None]
            with_client = f"{statistics.median(client):11.0f} {statistics.median(client_was):7.0f}" if client else ""
            print(f"{name:17} {ms:9.0f} {was:24.0f} {ms / was:6.2f} {with_client}")
        print()
    print(
        f"{'function':17} {'memory':>6} {'import ms':>9} {'modules':>7}  {'heavy modules loaded':34} "
        f"{'unzipped MB':>11} {'zipped MB':>9} {'files':>6}  heaviest imports (cumulative ms)"
    )
    for name, function in functions.items():
        runs = times[name]
        ms = statistics.median(r["ms"] for r in runs)
        loaded = ", ".join(runs[0]["loaded"]) or "-"
        heaviest = ", ".join(f"{module} {t:.0f}" for module, t in _heaviest(function))
        if (build / name).is_dir():
            unzipped, zipped, count = _size(build / name)
            size = f"{unzipped / 1e6:11.2f} {zipped / 1e6:9.2f} {count:6d}"
        else:
            size = f"{'not built':>11} {'':>9} {'':>6}"
        print(f"{name:17} {function.memory_size:6d} {ms:9.0f} {runs[0]['modules']:7d}  {loaded:34} {size}  {heaviest}")
    if layer:
        unzipped, zipped, count = layer
        print(
            f"{'SharedLayer':17} {'':6} {'':9} {'':7}  {'(every function)':34} "
            f"{unzipped / 1e6:11.2f} {zipped / 1e6:9.2f} {count:6d}"
        )
    else:
        print("SharedLayer not built: run with --build (or scripts/build.sh) for package sizes")


if __name__ == "__main__":
    main()
