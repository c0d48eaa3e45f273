"""What the origin check (imageservice.http.require_origin_secret) costs an API request.

    .venv/bin/python bench/bench_origin_check.py               # 7 rounds of 5000 requests each way
    .venv/bin/python bench/bench_origin_check.py --rounds 11 --requests 20000

Two Powertools resolvers made by make_resolver, one with the check and one without, each with one route
that answers at once, resolve the sample event events/presign_get_options.json (which carries the header
as CloudFront sends it) in the same process, with PresignFunction's environment as the template resolves it
and the events' origin secret. Each round times both, alternating which goes first; CPU microseconds per
request, medians. What remains of a request (API Gateway, Lambda's invoke, the route's own work) is the same
either way, so the difference is the check's whole cost.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

repo_paths.use("presign")

from devstack.cfn.template import read_stack  # noqa: E402
from testkit.events import EVENTS_DIR, events_origin_secret  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    os.environ.update(read_stack().functions["PresignFunction"].environment)
    os.environ.update({"ORIGIN_SECRET": events_origin_secret(), "LOG_LEVEL": "ERROR"})
    from imageservice.http import json_response, make_resolver

    event = json.loads((EVENTS_DIR / "presign_get_options.json").read_text())
    apps = {}
    for checked in (True, False):
        app = make_resolver(check_origin_header=checked)
        app.get("/api/options")(lambda: json_response(200, {"ok": True}))
        assert app.resolve(event, None)["statusCode"] == 200
        apps["with the check" if checked else "without"] = app
    timings: dict[str, list[float]] = {name: [] for name in apps}
    for round_ in range(args.rounds):
        for name in sorted(apps, reverse=bool(round_ % 2)):
            start = time.process_time()
            for _ in range(args.requests):
                apps[name].resolve(event, None)
            timings[name].append((time.process_time() - start) / args.requests * 1e6)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    for name, median in medians.items():
        print(f"{name:>15}: {median:6.1f} µs CPU per request (median of {args.rounds} rounds of {args.requests})")
    print(f"{'the check':>15}: {medians['with the check'] - medians['without']:6.1f} µs")


if __name__ == "__main__":
    main()
