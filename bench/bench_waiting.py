"""Clients waiting for images, measured: how many get a 5xx, and how long /api/options takes meanwhile.

    .venv/bin/python bench/bench_waiting.py [--clients 300] [--seconds 60]            # the status objects (default)
    .venv/bin/python bench/bench_waiting.py --design wait [--clients 300] [--wait 20]  # ?wait=, the old way

Both start a local stack with processing held (its asynchronous invoker stopped, so no S3 event reaches
ProcessFunction and every image stays pending for the whole measurement), while one more thread asks
GET /api/options every 0.2 s. Issue 22 asks for no 5xx with 300 waiting clients and an options p95 of 1 s at most.

--design status: each client has an image of its own and waits for it with the CLI's wait_for (docs/delivery.md):
GET /status/{id} every second with If-None-Match (304 while unchanged) for --seconds; GET /api/images/{id} only
once the processing timeout has passed (900 s by default, so not in a shorter run) and once at the end, after the
options probes stop. The clients run as threads of --processes processes of their own, apart from the local
stack's. Printed: the answers by path and
status, the requests per client per minute each path got, the options probes' p50, p95 and max.
--design wait: every client asks GET /api/images/{id}?wait=W once for one shared image (the baseline).

The figures measure this machine and the local stack (a process per execution environment, at most 64 per
function), not Lambda."""

import argparse
import json
import multiprocessing
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402, F401

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from imageservice_cli.main import Client, CommandError, StillPending, wait_for  # noqa: E402


def pending_image(base_url: str, seed: int = 0, session: requests.Session | None = None) -> str:
    """An image that stays pending: uploaded while the stack delivers no S3 events (main() holds them)."""
    from testkit.images import small_photo

    answer = (session or requests).post(f"{base_url}/api/images", timeout=60,
                                        files={"file": ("p.jpg", small_photo(64, 48, seed=seed), "image/jpeg")})
    answer.raise_for_status()
    return answer.json()["id"]


class Prober:
    """GET /api/options every 0.2 s until stopped; the seconds each took."""

    def __init__(self, base_url: str):
        self.base_url, self.took, self.statuses, self.at = base_url, [], {}, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._began = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = session.get(f"{self.base_url}/api/options", timeout=60).status_code
                except requests.RequestException:
                    status = 0
                self.took.append(time.perf_counter() - started)
                self.at.append(round(time.monotonic() - self._began - self.took[-1], 1))
                self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
                self._stop.wait(0.2)

    def figures(self) -> dict:
        return {"options_p50_s": round(statistics.median(self.took), 3),
                "options_p95_s": round(statistics.quantiles(self.took, n=20, method="inclusive")[-1], 3),
                "options_max_s": round(max(self.took), 3), "options_probes": len(self.took),
                # The three slowest probes: [seconds into the measurement when sent, seconds taken].
                "options_slowest": sorted(([at, round(took, 3)] for at, took in zip(self.at, self.took, strict=True)),
                                          key=lambda probe: -probe[1])[:3],
                "options_statuses": self.statuses}


def measure_wait(base_url: str, clients: int, wait: int) -> dict:
    """The baseline: every client holds GET /api/images/{id}?wait=W once, on one shared pending image."""
    image_id = pending_image(base_url)
    first = requests.get(f"{base_url}/api/images/{image_id}", timeout=30)
    assert first.status_code == 202, first.text

    def waiting(_: int) -> tuple[int, float]:
        started = time.perf_counter()
        try:
            status = requests.get(f"{base_url}/api/images/{image_id}", params={"wait": wait},
                                  timeout=wait + 40).status_code
        except requests.RequestException:
            status = 0  # no answer at all
        return status, time.perf_counter() - started

    with Prober(base_url) as prober, ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(waiting, range(clients)))
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    times = sorted(took for _, took in results)
    return {
        "design": "wait", "clients": clients, "wait": wait, "statuses": statuses,
        "five_xx_or_none": sum(1 for status, _ in results if status == 0 or status >= 500),
        "waiting_p50_s": statistics.median(times), "waiting_p95_s": statistics.quantiles(times, n=20)[-1],
        **prober.figures(),
    }


def _wait_as_clients(base_url: str, image_ids: list[str], seconds: float, start_at: float,
                     processing_timeout: float) -> dict[str, int]:
    """One process's share of the clients, a thread each, from wall-clock `start_at` for `seconds`: each waits
    with the CLI's own code (imageservice_cli.main.wait_for, which the page's waitForResult mirrors); every
    answer is counted by a hook, by path and status."""
    counts: dict[str, int] = {}
    lock = threading.Lock()

    def count(path: str, status: int) -> None:
        with lock:
            counts[f"{path} {status}"] = counts.get(f"{path} {status}", 0) + 1

    def counted(response: requests.Response, *args, **kwargs) -> None:
        count("GET /status/{id}" if "/status/" in response.url else "GET /api/images/{id}", response.status_code)

    def waiting(image_id: str) -> None:
        client = Client(base_url, 60)
        client.session.hooks["response"].append(counted)
        time.sleep(max(0.0, start_at - time.time()))
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                wait_for(client, image_id, deadline, processing_timeout)
            except StillPending:
                return
            except CommandError:
                count("no answer or a 5xx", 0)  # a 5xx is counted by the hook as well

    threads = [threading.Thread(target=waiting, args=(image_id,), daemon=True) for image_id in image_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def measure_status(base_url: str, clients: int, seconds: float, processes: int) -> dict:
    """Every client waits on an image of its own; the clients run in `processes` processes of their own, so
    that their Python does not share the local stack's interpreter (its gateway and edge)."""
    with ThreadPoolExecutor(8) as pool, requests.Session() as session:
        image_ids = list(pool.map(lambda seed: pending_image(base_url, seed, session), range(clients)))
    shares = [image_ids[n::processes] for n in range(processes)]
    processing_timeout = requests.get(f"{base_url}/api/options", timeout=60).json()["limits"][
        "processing_timeout_seconds"]
    start_at = time.time() + 10  # every process started and its threads waiting by then
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pending = pool.starmap_async(_wait_as_clients, [(base_url, share, seconds, start_at, processing_timeout)
                                                        for share in shares])
        time.sleep(max(0.0, start_at - time.time()))
        began = time.monotonic()
        # Probed while they wait; not during the API check each makes once its --seconds are over.
        with Prober(base_url) as prober:
            time.sleep(seconds)
        results = pending.get()
        elapsed = time.monotonic() - began
    counts: dict[str, int] = {}
    for result in results:
        for key, n in result.items():
            counts[key] = counts.get(key, 0) + n
    def total(path: str) -> int:
        return sum(n for key, n in counts.items() if key.startswith(path))
    failed = sum(n for key, n in counts.items() if key.endswith(" 0") or int(key.rsplit(" ", 1)[1]) >= 500)
    return {
        "design": "status", "clients": clients, "processes": processes, "seconds": round(elapsed, 1),
        "answers": dict(sorted(counts.items())), "five_xx_or_none": failed,
        # Over the --seconds they waited (each client asks again once it has the previous answer).
        "status_polls_per_client_per_minute": round(total("GET /status/{id}") / clients / seconds * 60, 1),
        "api_requests_per_client": round(total("GET /api/images/{id}") / clients, 2),  # the one at the end
        **prober.figures(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", choices=("status", "wait"), default="status")
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--wait", type=int, default=20, help="--design wait: the ?wait= seconds")
    parser.add_argument("--seconds", type=float, default=60, help="--design status: how long the clients wait")
    parser.add_argument("--processes", type=int, default=4, help="--design status: processes the clients run in")
    args = parser.parse_args()
    from devstack.stack import LocalStack

    with LocalStack(port=0) as stack:
        requests.get(f"{stack.url}/api/options", timeout=60).raise_for_status()  # PresignFunction started once
        # Processing held: the stack's asynchronous invoker stops, so no S3 event reaches ProcessFunction and the
        # images stay pending for the whole measurement (stop() leaves it alone once it is gone).
        stack._invoker.stop()
        stack._invoker = None
        if args.design == "wait":
            print(json.dumps(measure_wait(stack.url, args.clients, args.wait), indent=2))
        else:
            print(json.dumps(measure_status(stack.url, args.clients, args.seconds, args.processes), indent=2))


if __name__ == "__main__":
    main()
