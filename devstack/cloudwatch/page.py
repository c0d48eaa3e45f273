"""/_stack/: a page of what the functions' metrics and logs say, as a dashboard would show it on AWS.

Server-rendered HTML with no script, no style and no external resource, so the site's Content-Security-Policy
(which the local stack sends on every answer) admits it as it is; it reloads itself every few seconds."""

import html
import math
import time
from collections import defaultdict
from collections.abc import Iterable

from .telemetry import Datapoint, LogEvent, Telemetry

PATH = "/_stack/"
REFRESH_SECONDS = 5
RECENT = 20
ERROR_LEVELS = ("ERROR", "CRITICAL")


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile, as CloudWatch's pNN of a small sample."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _shared(points: list[Datapoint]) -> set[tuple[str, str]]:
    """Dimensions every datapoint has (the service, say): said once at the top, not on every row."""
    common: set[tuple[str, str]] | None = None
    for point in points:
        common = set(point.dimensions) if common is None else common & set(point.dimensions)
    return common or set()


def _dimensions(point: Datapoint, shared: set[tuple[str, str]]) -> str:
    return ", ".join(f"{name}={value}" for name, value in point.dimensions if (name, value) not in shared)


def _time(timestamp: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(timestamp))


def _table(caption: str, headings: Iterable[str], rows: list[list[str]], empty: str) -> str:
    head = "".join(f"<th scope=\"col\">{html.escape(h)}</th>" for h in headings)
    if not rows:
        return f"<h2>{html.escape(caption)}</h2>\n<p>{html.escape(empty)}</p>\n"
    body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>\n" for row in rows)
    return (f"<h2>{html.escape(caption)}</h2>\n<table>\n<thead><tr>{head}</tr></thead>\n"
            f"<tbody>\n{body}</tbody>\n</table>\n")


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) or abs(value) >= 100 else f"{value:,.1f}"


def render(telemetry: Telemetry, title: str, failure_metrics: Iterable[str] = ()) -> bytes:
    points = telemetry.datapoints()
    shared = _shared(points)
    by_metric: dict[tuple, list[Datapoint]] = defaultdict(list)
    for point in points:
        by_metric[(point.namespace, point.name, point.unit, _dimensions(point, shared))].append(point)
    ordered = sorted(by_metric.items(), key=lambda item: (item[0][0], item[0][1], item[0][3]))

    counts = [[name, dims, _number(sum(p.value for p in group)), _time(max(p.timestamp for p in group))]
              for (_, name, unit, dims), group in ordered if unit not in ("Milliseconds", "Seconds", "Bytes")]
    durations = []
    for (_, name, unit, dims), group in ordered:
        if unit in ("Milliseconds", "Seconds"):
            values = [p.value for p in group]
            durations.append([f"{name} ({'ms' if unit == 'Milliseconds' else 's'})", dims, str(len(values)),
                              *(_number(percentile(values, q)) for q in (50, 95, 99)), _number(max(values))])
    sizes = [[name, dims, str(len(group)), _number(sum(p.value for p in group))]
             for (_, name, unit, dims), group in ordered if unit == "Bytes"]

    wanted = set(failure_metrics)
    failures = [p for p in points if p.name in wanted and _dimensions(p, shared) and
                len(p.dimensions) > min(len(q.dimensions) for q in points if q.name == p.name)]
    failure_rows = [[_time(p.timestamp), p.function, p.name, _dimensions(p, shared),
                     ", ".join(f"{k}={v}" for k, v in sorted(p.properties.items()))]
                    for p in sorted(failures, key=lambda p: p.timestamp, reverse=True)[:RECENT]]
    errors: list[LogEvent] = [e for e in telemetry.events() if e.level in ERROR_LEVELS]
    error_rows = [[_time(e.timestamp), e.function, str(e.fields.get("message", "")),
                   ", ".join(f"{k}={e.fields[k]}" for k in ("image_id", "correlation_id") if e.fields.get(k))]
                  for e in reversed(errors[-RECENT:])]

    said = ", ".join(f"{name}={value}" for name, value in sorted(shared)) or "none"
    namespaces = ", ".join(sorted({p.namespace for p in points})) or "none yet"
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"refresh\" content=\"{REFRESH_SECONDS}\">\n",
        f"<title>{html.escape(title)}: the local stack</title>\n</head>\n<body>\n<main>\n",
        f"<h1>{html.escape(title)}: what the functions emitted</h1>\n",
        f"<p>From the functions' embedded-metric (EMF) lines and logs since the stack started, as CloudWatch "
        f"would read them. Namespaces: {html.escape(namespaces)}; every metric's dimensions include "
        f"{html.escape(said)}. Updated {html.escape(time.strftime('%H:%M:%S'))}, every {REFRESH_SECONDS} s. "
        f"{telemetry.malformed} malformed metric documents.</p>\n",
        _table("Counts", ["metric", "dimensions", "sum", "last"], counts, "No counts yet: upload an image."),
        _table("Durations", ["metric", "dimensions", "n", "p50", "p95", "p99", "max"], durations,
               "No durations yet."),
        _table("Bytes", ["metric", "dimensions", "n", "sum"], sizes, "No bytes yet."),
        _table("Recent failures", ["time", "function", "metric", "dimensions", "with"], failure_rows,
               "No failures."),
        _table("Recent errors in the logs", ["time", "function", "message", "ids"], error_rows, "No errors."),
        "</main>\n</body>\n</html>\n",
    ]
    return "".join(parts).encode()
