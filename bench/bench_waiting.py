"""Clients waiting for an image, measured: how many get a 5xx, and how long /api/options takes meanwhile.

    .venv/bin/python bench/bench_waiting.py [--clients 300] [--wait 20]     # starts a local stack

--clients threads each ask GET /api/images/{id}?wait=W for an image that stays pending (uploaded while the stack
delivers no S3 events, so it is never processed),
while one more thread asks GET /api/options every 0.2 s. Printed: the waiting answers by status, their p50 and
p95 time, and the options probes' p50, p95 and max. Issue 22 asks for no 5xx with 300 waiting clients and an
options p95 of 1 s at most; this script measures the design the stack has, whatever it is.
The figures measure this machine and the local stack (a process per execution environment, at most 64 per
function), not Lambda."""

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402, F401


def pending_image(base_url: str) -> str:
    """An image that stays pending: uploaded while the stack delivers no S3 events (main() holds them)."""
    from testkit.images import small_photo

    answer = requests.post(f"{base_url}/api/images", files={"file": ("p.jpg", small_photo(320, 240), "image/jpeg")},
                           timeout=30)
    answer.raise_for_status()
    return answer.json()["id"]


def measure(base_url: str, clients: int, wait: int) -> dict:
    image_id = pending_image(base_url)
    first = requests.get(f"{base_url}/api/images/{image_id}", timeout=30)
    assert first.status_code == 202, first.text
    stop = threading.Event()
    probes: list[float] = []

    def probe() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    session.get(f"{base_url}/api/options", timeout=60)
                except requests.RequestException:
                    pass
                probes.append(time.perf_counter() - started)
                stop.wait(0.2)

    def waiting(_: int) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            status = requests.get(f"{base_url}/api/images/{image_id}", params={"wait": wait}, timeout=wait + 40).status_code
        except requests.RequestException:
            status = 0  # no answer at all
        return status, time.perf_counter() - started

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(waiting, range(clients)))
    stop.set()
    prober.join()
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    times = sorted(took for _, took in results)
    return {
        "first_answer": first.status_code,
        "clients": clients, "wait": wait, "statuses": statuses,
        "five_xx_or_none": sum(1 for status, _ in results if status == 0 or status >= 500),
        "waiting_p50_s": statistics.median(times), "waiting_p95_s": statistics.quantiles(times, n=20)[-1],
        "options_p50_s": statistics.median(probes), "options_p95_s": statistics.quantiles(probes, n=20)[-1],
        "options_max_s": max(probes), "options_probes": len(probes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--wait", type=int, default=20)
    args = parser.parse_args()
    from devstack.stack import LocalStack

    with LocalStack(port=0) as stack:
        # Processing held: the stack's asynchronous invoker stops, so no S3 event reaches ProcessFunction and the
        # image stays pending for the whole measurement (stop() leaves it alone once it is gone).
        stack._invoker.stop()
        stack._invoker = None
        print(json.dumps(measure(stack.url, args.clients, args.wait), indent=2))


if __name__ == "__main__":
    main()
