"""Upload->done latency and throughput of the local stack for 12-megapixel photos.

    .venv/bin/python bench/bench_local_stack.py                 # starts a local stack (devstack.stack.LocalStack)
    .venv/bin/python bench/bench_local_stack.py --url http://127.0.0.1:3000 -n 12 --concurrency 1,2,4

Each image goes the way a large file goes: POST /api/uploads, then the pre-signed POST straight to the
storage server, then GET /api/images/{id}?wait=20 until it is done. Latency is from the first request to
the answer that says done; throughput is images per second of wall time at each concurrency. One
small image is processed first and not counted (the first invocation imports Pillow).
The figures measure this machine and the local stack (moto, a process per execution environment), not AWS Lambda."""

import argparse
import contextlib
import io
import math
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

ROOT = repo_paths.ROOT
from devstack.cfn.template import parse_overrides  # noqa: E402
from devstack.stack import Console, LocalStack  # noqa: E402
from testkit.images import photo_like_jpeg  # noqa: E402


def small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(out, "JPEG")
    return out.getvalue()


def upload_until_done(session: requests.Session, base_url: str, data: bytes) -> tuple[float, str]:
    """Seconds from POST /api/uploads to the answer that says done; and the final status."""
    started = time.perf_counter()
    ticket = session.post(f"{base_url}/api/uploads", json={"content_type": "image/jpeg"}, timeout=30)
    ticket.raise_for_status()
    body = ticket.json()
    stored = session.post(
        body["upload"]["url"],
        data=body["upload"]["fields"],
        files={"file": ("photo.jpg", data, "image/jpeg")},
        timeout=120,
    )
    stored.raise_for_status()
    while True:
        answer = session.get(f"{base_url}/api/images/{body['id']}", params={"wait": 20}, timeout=60)
        if answer.status_code != 202:
            return time.perf_counter() - started, answer.json().get("status", str(answer.status_code))


def run_level(base_url: str, images: list[bytes], concurrency: int) -> dict:
    local = threading.local()

    def one(data: bytes) -> tuple[float, str]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return upload_until_done(local.session, base_url, data)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, images))
    wall = time.perf_counter() - started
    latencies = sorted(seconds * 1000 for seconds, _ in results)
    return {
        "concurrency": concurrency,
        "images": len(images),
        "done": sum(1 for _, status in results if status == "done"),
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, math.ceil(0.95 * len(latencies)) - 1)],
        "per_second": len(images) / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running local stack (default: start one)")
    parser.add_argument("-n", "--images", type=int, default=8, help="images per concurrency level (default 8)")
    parser.add_argument("--concurrency", default="1,4", help="comma-separated levels (default 1,4)")
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument(
        "--parameter-overrides", default="", help="template parameters of the stack this script starts (sam syntax)"
    )
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]

    print(
        f"Generating {args.images} photo-like JPEGs of {args.width}x{args.height} "
        f"({args.width * args.height / 1e6:.0f} MP)...",
        flush=True,
    )
    images = [photo_like_jpeg(seed, args.width, args.height) for seed in range(args.images)]
    sizes = sorted(len(image) for image in images)
    print(f"  {sizes[0] / 1e6:.1f} to {sizes[-1] / 1e6:.1f} MB each", flush=True)

    with contextlib.ExitStack() as running:
        base_url = args.url
        if base_url is None:
            stack = running.enter_context(LocalStack(port=0, overrides=parse_overrides(args.parameter_overrides),
                                                     console=Console(quiet=True)))
            base_url = stack.url
            print(f"Started the local stack at {base_url}", flush=True)
        with requests.Session() as session:
            seconds, status = upload_until_done(session, base_url, small_jpeg())
            assert status == "done", status
        rows = []
        for level in levels:
            print(f"Concurrency {level}...", flush=True)
            rows.append(run_level(base_url, images, level))

    print()
    print(
        f"local stack, {args.width}x{args.height} JPEGs via POST /api/uploads + pre-signed POST, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    print("| concurrency | images | done | p50 upload->done (ms) | p95 upload->done (ms) | uploads/s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['concurrency']} | {row['images']} | {row['done']} | {row['p50']:.0f} | {row['p95']:.0f} "
            f"| {row['per_second']:.2f} |"
        )


if __name__ == "__main__":
    main()
