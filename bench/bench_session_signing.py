"""POST /api/session's own work, measured: signing one owner's CloudFront cookies (src/edgeauth/edge_signing.py).

    .venv/bin/python bench/bench_session_signing.py [--runs 7] [--calls 200]

Side by side in one run: loading and checking the private key from its PEM (what SessionFunction does once per
execution environment, after one GetSecretValue) and signing the policy with the key already loaded (what every
later POST /api/session does). Medians over --runs runs of --calls calls each. This machine's CPU, not Lambda's."""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: repo_paths
import repo_paths  # noqa: E402

repo_paths.use("edgeauth")
from edge_signing import generate_key_pair, load_signing_key, owner_resource, signed_cookies  # noqa: E402


def per_call_ms(call, runs: int, calls: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        samples.append((time.perf_counter() - start) / calls * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    pair = generate_key_pair()
    key = load_signing_key(pair.private_pem)
    resource = owner_resource("https://d111111abcdef8.cloudfront.net", "ab" * 32)
    load = per_call_ms(lambda: load_signing_key(pair.private_pem), args.runs, max(1, args.calls // 40))
    sign = per_call_ms(lambda: signed_cookies(key, "K2JCJMDEHXQW5F", resource, 1_800_000_000), args.runs, args.calls)
    both = per_call_ms(lambda: signed_cookies(load_signing_key(pair.private_pem), "K2JCJMDEHXQW5F", resource,
                                              1_800_000_000), args.runs, max(1, args.calls // 40))
    print(f"load and check the key (once per environment): {load:.1f} ms")
    print(f"sign with the key loaded (every later session):  {sign:.2f} ms")
    print(f"load and sign on every call (not done):          {both:.1f} ms  ({both / sign:.0f}x)")


if __name__ == "__main__":
    main()
