"""What the sample events of events/ assume of the deployment they stand for."""

import json
from pathlib import Path

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events"
ORIGIN_HEADER = "x-origin-verify"  # imageservice.http.ORIGIN_HEADER; tests/unit/test_template_origin.py pins both


def http_api_events() -> dict[str, dict]:
    """The HTTP API's sample events (file name -> event): those of a route under /api."""
    events = {path.name: json.loads(path.read_text()) for path in sorted(EVENTS_DIR.glob("*.json"))}
    return {name: event for name, event in events.items()
            if isinstance(event, dict) and " /api" in event.get("routeKey", "")}


def events_origin_secret() -> str:
    """The X-Origin-Verify value every HTTP API sample event carries, as CloudFront sends it: the origin secret of
    the deployment the samples stand for (the integration tests run with it, and `sam local` through
    scripts/sam_local_env.py)."""
    values = {event["headers"].get(ORIGIN_HEADER) for event in http_api_events().values()}
    if len(values) != 1 or None in values:
        raise ValueError(f"the HTTP API events of events/ must all carry one {ORIGIN_HEADER} value, not {values}")
    return values.pop()
