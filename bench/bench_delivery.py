"""Images at the edge (docs/delivery.md), measured: what a view costs in time, and what rendering costs.

    .venv/bin/python bench/bench_delivery.py --ttfb [--rounds 30]     # starts a local stack (LocalStack)
    .venv/bin/python bench/bench_delivery.py --render [--runs 5]       # RenderFunction, in-process moto

--ttfb: time to the first byte of the image a browser shows, on the local stack, for the same 12 MP upload:
  `/img/{id}/640.auto` answered from the local CloudFront's cache (one request), against today's path,
  `GET /api/images/{id}/medium` (PresignFunction) answering 302, then the pre-signed GET to storage (two
  requests; the time runs to the second one's first byte). Interleaved per round on kept-alive connections,
  medians and p90 of --rounds rounds, after one unmeasured round of each.
--render: RenderFunction for a 12 MP photo-like JPEG (4000 x 3000) at 640 px, AVIF and WebP: cold is a fresh
  interpreter's import of render_app and its first render (what a new execution environment adds before
  it answers, less Lambda's own start), warm the same render again in that process; --runs fresh
  processes per format, medians. S3 is moto in the process, so the figures are the code's, not S3's.
The figures measure this machine (shared, 2 cores) and the local stack, not CloudFront or Lambda."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

ROOT = repo_paths.ROOT

from testkit.images import photo_like_jpeg  # noqa: E402

CHROME_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"


def first_byte(session: requests.Session, url: str, accept: str = CHROME_ACCEPT) -> tuple[float, requests.Response]:
    """Seconds to the response's headers (its first bytes), and the response (its body read afterwards)."""
    started = time.perf_counter()
    response = session.get(url, headers={"Accept": accept}, stream=True, allow_redirects=False, timeout=60)
    elapsed = time.perf_counter() - started
    response.content  # noqa: B018 - read the body, so the connection is free for the next request
    return elapsed, response


def ttfb(base_url: str, rounds: int) -> dict:
    with requests.Session() as api, requests.Session() as storage, requests.Session() as edge:
        answer = api.post(f"{base_url}/api/images", params={"format": "jpeg"},
                          files={"file": ("photo.jpg", photo_like_jpeg(1, 4000, 3000, 85), "image/jpeg")})
        image_id = answer.json()["id"]
        while api.get(f"{base_url}/api/images/{image_id}", params={"wait": 20}).status_code == 202:
            pass
        edge_url, api_url = f"{base_url}/img/{image_id}/640.auto", f"{base_url}/api/images/{image_id}/medium"
        samples: dict[str, list[float]] = {"edge": [], "redirect": []}
        for round_ in range(rounds + 1):
            took, response = first_byte(edge, edge_url)
            assert response.status_code == 200 and (round_ == 0 or response.headers["X-Cache"].startswith("Hit"))
            redirect_took, redirect = first_byte(api, api_url)
            assert redirect.status_code == 302, redirect.text
            object_took, image = first_byte(storage, redirect.headers["Location"])
            assert image.status_code == 200
            if round_:  # the first round fills the cache and warms both paths
                samples["edge"].append(took)
                samples["redirect"].append(redirect_took + object_took)
        sizes = {"edge": len(response.content), "redirect": len(image.content)}
        return {path: {"median_ms": statistics.median(values) * 1000,
                       "p90_ms": statistics.quantiles(values, n=10)[-1] * 1000, "bytes": sizes[path]}
                for path, values in samples.items()}


RENDER_DRIVER = r"""
import json, os, sys, time
import boto3
from moto import mock_aws
with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in (os.environ["STORED_IMAGES_BUCKET"], os.environ["PROCESSED_IMAGES_BUCKET"]):
        s3.create_bucket(Bucket=bucket)
    from imageservice.config import get_config
    from imageservice.keys import manifest_key, new_image_id, upload_key
    from imageservice.manifest import Manifest, OriginalInfo
    image_id = new_image_id()
    config = get_config()
    photo = open(sys.argv[2], "rb").read()  # made by the parent: generating it would import Pillow here
    s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=photo,
                  Metadata={"format": "jpeg"})
    # A done manifest as processing leaves it (its variants do not matter here): rendering reads the original.
    done = Manifest.done(image_id, None, OriginalInfo(4000, 3000, "jpeg", len(photo)), (), (), "L00000fQfQfQfQfQ")
    s3.put_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id), Body=done.to_json())
    assert not any(m.split(".")[0] in ("PIL", "imaging", "render_app") for m in sys.modules)
    fmt = sys.argv[1]
    event = json.loads(open("events/render_get.json").read())
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/img/{image_id}/640.{fmt}"

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "RenderFunction", 1769, "bench"
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:RenderFunction"
        def get_remaining_time_in_millis(self): return 29000

    started = time.perf_counter()
    import render_app
    answer = render_app.handler(dict(event), Context())
    cold = time.perf_counter() - started
    assert answer["statusCode"] == 200, answer
    warm = []
    for _ in range(3):
        started = time.perf_counter()
        assert render_app.handler(dict(event), Context())["statusCode"] == 200
        warm.append(time.perf_counter() - started)
    print(json.dumps({"cold_ms": cold * 1000, "warm_ms": min(warm) * 1000}))
"""


def render(runs: int) -> dict:
    from devstack.cfn.template import read_stack

    function = read_stack().functions["RenderFunction"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)} | function.environment
    env |= {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_LOG_LEVEL": "WARNING", "LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(map(str, [repo_paths.function_dir("process"), repo_paths.SHARED_LAYER,
                                                    ROOT]))}
    results: dict[str, dict[str, list[float]]] = {}
    photo = Path(tempfile.mkdtemp()) / "photo.jpg"
    photo.write_bytes(photo_like_jpeg(7, 4000, 3000, 85))
    for _ in range(runs):
        for fmt in ("avif", "webp"):
            run = subprocess.run([sys.executable, "-c", RENDER_DRIVER, fmt, str(photo)], cwd=ROOT, env=env,
                                 capture_output=True,
                                 text=True, timeout=600)
            if run.returncode:
                raise SystemExit(f"the render driver failed:\n{run.stderr[-3000:]}")
            measured = json.loads(run.stdout.strip().splitlines()[-1])
            for key, value in measured.items():
                results.setdefault(fmt, {}).setdefault(key, []).append(value)
    return {fmt: {key: statistics.median(values) for key, values in measured.items()}
            for fmt, measured in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttfb", action="store_true")
    parser.add_argument("--render", action="store_true")
    parser.add_argument("--url", help="a running local stack (default: start one)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.render:
        print(json.dumps({"render": render(args.runs)}, indent=2))
    if args.ttfb:
        if args.url:
            print(json.dumps({"ttfb": ttfb(args.url, args.rounds)}, indent=2))
        else:
            from devstack.stack import LocalStack

            with LocalStack(port=0) as stack:
                print(json.dumps({"ttfb": ttfb(stack.url, args.rounds)}, indent=2))


if __name__ == "__main__":
    main()
