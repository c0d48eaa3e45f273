#!/usr/bin/env python3
"""The long fuzz run: the strategies of the fuzz tests (testkit/fuzz_strategies.py), for many more inputs.

    .venv/bin/python scripts/fuzz.py --examples 5000 [--seed N] [--target imaging|upload|api|all]
                                     [--save-failures DIR]

imaging: mutated JPEG, PNG, GIF, WebP, TIFF, BMP, HEIC and AVIF bytes through imaging.build_variants,
each under the time and memory budgets of testkit/fuzz_strategies.py; every outcome must be a processed
image or a rejection with a known code.
upload: hostile POST /api/images requests through UploadFunction over in-process moto (half of them with
a 1024-byte direct-upload limit, so bodies cross it), costly multipart shapes among them; every answer
must be 202 or a documented 4xx within UploadFunction's timeout, a well-formed upload must be accepted
and a body cut short of its Content-Length refused.
api: hostile JSON bodies for POST /api/uploads (UploadFunction) and odd ids, variant names and ?wait=
values for GET /api/images/{id}[/{variant}] (PresignFunction); every answer must be documented.
Every error message must be short and printable.

Prints how many inputs were tried and the outcome counts; failures are counted, listed (and saved with
--save-failures) instead of stopping the run. Exits 1 when any input failed. The same --seed gives the
same inputs (with the same Hypothesis version)."""

import argparse
import collections
import contextlib
import copy
import faulthandler
import json
import math
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

repo_paths.use("process")
ROOT = repo_paths.ROOT

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from testkit import fuzz_strategies as fz  # noqa: E402


class Run:
    def __init__(self, name: str, save_dir: Path | None):
        self.name, self.save_dir = name, save_dir
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.by_group: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.failures: list[tuple[str, str]] = []
        self.slowest = 0.0
        self.peak_memory = 0
        self.started = time.monotonic()

    @property
    def tried(self) -> int:
        return sum(self.outcomes.values())

    def record(self, group: str, outcome: str, seconds: float) -> None:
        self.outcomes[outcome] += 1
        self.by_group[group][outcome] += 1
        self.slowest = max(self.slowest, seconds)

    def fail(self, group: str, error: BaseException, data: bytes, description: str) -> None:
        summary = f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
        self.record(group, "FAILED", 0.0)
        self.failures.append((summary, description))
        if self.save_dir:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            stem = self.save_dir / f"{self.name}-{len(self.failures):04d}"
            stem.with_suffix(".bin").write_bytes(data)
            stem.with_suffix(".txt").write_text(
                f"{description}\n\n{''.join(traceback.format_exception(error))}")

    def report(self, extra: str = "") -> None:
        elapsed = time.monotonic() - self.started
        counts = ", ".join(f"{outcome} {count}" for outcome, count in sorted(self.outcomes.items()))
        print(f"{self.name}: {self.tried} inputs tried in {elapsed:.0f} s: {counts}; failures {len(self.failures)}")
        if extra:
            print(f"  {extra}")
        for group, counter in sorted(self.by_group.items()):
            print(f"  {group:24} " + ", ".join(f"{o} {c}" for o, c in sorted(counter.items())))
        for summary, description in self.failures[:20]:
            print(f"  FAILED {summary}\n         {description[:300]}")


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))


def fuzz_imaging(examples: int, run_seed: int, save_dir: Path | None) -> Run:
    run = Run("imaging", save_dir)
    for name in fz.SEED_NAMES:  # build the seeds before timing anything
        fz.seed_image(name)

    @seed(run_seed)
    @_settings(examples)
    @given(image=fz.mutated_images(), recipe=fz.recipes)
    def one(image, recipe):
        started = time.monotonic()
        try:
            outcome, memory = fz.build_outcome(image.data, recipe)
        except Exception as error:  # noqa: BLE001 - every other outcome is a finding, counted and listed
            run.fail(image.seed, error, image.data, f"{image!r} {recipe!r}")
            return
        run.peak_memory = max(run.peak_memory, memory.peak)
        run.record(image.seed, outcome, time.monotonic() - started)

    one()
    run.report(f"largest memory added by one input {run.peak_memory / 2**20:.0f} MiB "
               f"(budget {fz.MEMORY_BUDGET_BYTES / 2**20:.0f} MiB); slowest input {run.slowest:.2f} s "
               f"(budget {fz.TIME_BUDGET_SECONDS} s); pixel limit {fz.FUZZ_MAX_PIXELS}")
    return run


@contextlib.contextmanager
def _api_functions():
    """The template's API functions over in-process moto, with its buckets: yields (stack, handlers)."""
    from moto import mock_aws

    from devstack.cfn.template import read_stack
    from devstack.lambda_.functions import load_handler

    stack = read_stack()
    names = ("UploadFunction", "PresignFunction")
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", **stack.functions["UploadFunction"].environment,
        "LOG_LEVEL": "CRITICAL", "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    })
    os.environ.pop("AWS_ENDPOINT_URL_S3", None)
    os.environ.pop("AWS_PROFILE", None)
    with mock_aws():
        import boto3
        from imageservice.aws import s3_client

        client = boto3.client("s3", region_name="us-east-1")
        for bucket in stack.buckets.values():
            client.create_bucket(Bucket=bucket.name)
        s3_client.cache_clear()
        yield stack, {name: load_handler(stack.functions[name]) for name in names}


def _event(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())


def fuzz_upload(examples: int, run_seed: int, save_dir: Path | None) -> Run:
    from imageservice.config import get_config

    run = Run("upload", save_dir)
    with _api_functions() as (stack, handlers):
        function = stack.functions["UploadFunction"]
        template = _event("upload_post_image.json")
        deployed = function.environment["DIRECT_UPLOAD_MAX_BYTES"]
        for offset, (limit, share) in enumerate(((deployed, examples - examples // 2), ("1024", examples // 2))):
            os.environ["DIRECT_UPLOAD_MAX_BYTES"] = limit
            get_config.cache_clear()

            def upload(request, check=lambda response, request: fz.upload_outcome(response, request)):
                response = _invoke(handlers["UploadFunction"], function, fz.upload_event(template, request))
                return check(response, request)

            _requests(run, upload, fz.upload_requests(), f"limit {limit} bytes", share, run_seed + offset)()
        os.environ["DIRECT_UPLOAD_MAX_BYTES"] = deployed
        get_config.cache_clear()
    run.report(f"slowest request {run.slowest:.2f} s (UploadFunction's timeout: "
               f"{stack.functions['UploadFunction'].timeout} s)")
    return run


def fuzz_api(examples: int, run_seed: int, save_dir: Path | None) -> Run:
    from imageservice.keys import manifest_key, new_image_id, upload_key, variant_key
    from imageservice.manifest import Manifest, OriginalInfo, StoredVariant

    run = Run("api", save_dir)
    with _api_functions() as (stack, handlers):
        import boto3
        import status

        status.POLL_INTERVAL_SECONDS = math.inf  # ?wait= gives up at once instead of polling
        s3 = boto3.client("s3", region_name="us-east-1")
        stored, processed = stack.bucket_name("StoredImagesBucket"), stack.bucket_name("ProcessedImagesBucket")
        images = {state: new_image_id() for state in ("done", "pending", "deleted")}
        for image_id in (images["done"], images["pending"]):
            s3.put_object(Bucket=stored, Key=upload_key(image_id), Body=b"x")
        variants = tuple(StoredVariant(name, 8, 8, "jpeg", "image/jpeg", 9, variant_key(images["done"], name, "jpg"))
                         for name in ("large", "medium", "thumb"))
        for manifest in (Manifest.done(images["done"], None, OriginalInfo(8, 8, "jpeg", 9), variants, (), "L0"),
                         Manifest.deleted(images["deleted"])):
            s3.put_object(Bucket=processed, Key=manifest_key(manifest.id), Body=manifest.to_json())

        uploads, upload_function = _event("upload_post_uploads.json"), stack.functions["UploadFunction"]

        def ticket(body):
            response = _invoke(handlers["UploadFunction"], upload_function, fz.uploads_event(uploads, body))
            return fz.api_outcome(response, fz.UPLOADS_ERROR_CODES, success=201)

        _requests(run, ticket, fz.uploads_bodies(), "POST /api/uploads", examples - examples // 2, run_seed)()

        image_event, variant_event = _event("presign_get_image.json"), _event("presign_get_variant.json")
        presign_function = stack.functions["PresignFunction"]

        def read(request):
            image_id = images.get(request.image_id, request.image_id)
            event = copy.deepcopy(image_event if request.variant is None else variant_event)
            path = f"/api/images/{image_id}" + ("" if request.variant is None else f"/{request.variant}")
            event["rawPath"] = event["requestContext"]["http"]["path"] = path
            event["pathParameters"] = {"id": image_id, **({} if request.variant is None else
                                                            {"variant": request.variant})}
            event["queryStringParameters"] = {"wait": request.wait} if request.wait is not None else None
            response = _invoke(handlers["PresignFunction"], presign_function, event)
            if response["statusCode"] == 422:
                return "422"
            return fz.api_outcome(response, fz.STATUS_ERROR_CODES, success=(200, 202, 302))

        _requests(run, read, fz.status_requests, "GET /api/images/{id}", examples // 2, run_seed + 1)()
    run.report(f"slowest request {run.slowest:.2f} s")
    return run


def _invoke(handler, function, event: dict) -> dict:
    from devstack.lambda_.functions import LambdaContext

    return handler(copy.deepcopy(event), LambdaContext(function, "fuzz"))


def _requests(run: Run, call, strategy, group: str, examples: int, run_seed: int):
    """A Hypothesis run of `call` over `strategy`: each outcome is counted, each failure listed."""

    @seed(run_seed)
    @_settings(examples)
    @given(request=strategy)
    def one(request):
        started = time.monotonic()
        try:
            with fz.time_budget():
                outcome = call(request)
        except Exception as error:  # noqa: BLE001 - counted and listed, the run goes on
            body = getattr(request, "body", request)
            run.fail(group, error, body if isinstance(body, bytes) else str(body).encode(errors="replace"),
                     repr(request)[:5000])
            return
        run.record(group, outcome, time.monotonic() - started)

    return one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000, help="inputs per target (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed; the same seed gives the same inputs")
    parser.add_argument("--target", choices=("imaging", "upload", "api", "all"), default="all")
    parser.add_argument("--save-failures", type=Path, metavar="DIR", help="write each failing input here")
    args = parser.parse_args(argv)

    faulthandler.enable()  # a crash in C code still prints where it happened
    warnings.simplefilter("ignore")  # Pillow warns about every damaged file; the outcome is what counts
    print(f"fuzz: seed {args.seed}, {args.examples} inputs per target, Python {sys.version.split()[0]}")
    runs = []
    if args.target in ("imaging", "all"):
        runs.append(fuzz_imaging(args.examples, args.seed, args.save_failures))
    if args.target in ("upload", "all"):
        runs.append(fuzz_upload(args.examples, args.seed, args.save_failures))
    if args.target in ("api", "all"):
        runs.append(fuzz_api(args.examples, args.seed, args.save_failures))
    failed = sum(len(run.failures) for run in runs)
    tried = sum(run.tried for run in runs)
    print(f"fuzz: {tried} inputs tried, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
