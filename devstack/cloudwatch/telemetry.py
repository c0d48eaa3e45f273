"""The functions' output as CloudWatch keeps it: every line a log event of its function, and every line in the
embedded metric format (EMF) also the metric datapoints CloudWatch would extract from it.

Lambda sends whatever a function writes to stdout to its log group; CloudWatch Logs reads each JSON line with
an `_aws.CloudWatchMetrics` directive as metrics: for each directive, each metric named there under each of
its dimension sets, with the document's values of those dimensions. This module does the same, in memory
and bounded (the oldest go first), for the local stack's page (/_stack/) and for the tests."""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LogEvent:
    """One line a function wrote, and its JSON object when it is one (a structured log line, an EMF document)."""

    function: str
    timestamp: float
    message: str
    fields: dict | None = None

    @property
    def level(self) -> str | None:
        return self.fields.get("level") if self.fields else None


@dataclass(frozen=True)
class Datapoint:
    """One value of one metric, as CloudWatch would store it from an EMF document."""

    function: str
    timestamp: float
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted (name, value) pairs
    unit: str
    value: float
    # The document's other members (neither dimension nor metric): searchable in Logs Insights, not metrics.
    properties: dict = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """The metric this datapoint belongs to: namespace, name and dimensions."""
        return self.namespace, self.name, self.dimensions


class EmfError(ValueError):
    """A line that declares EMF metrics but breaks the format (CloudWatch would extract nothing from it)."""


def datapoints(function: str, document: dict, received: float) -> list[Datapoint]:
    """The datapoints of one EMF document (see the module's docstring); EmfError if it is malformed."""
    try:
        directives = document["_aws"]["CloudWatchMetrics"]
        timestamp = document["_aws"].get("Timestamp", received * 1000) / 1000
        named = {metric["Name"] for directive in directives for metric in directive["Metrics"]}
        dimension_names = {name for directive in directives for names in directive["Dimensions"] for name in names}
        properties = {key: value for key, value in document.items()
                      if key != "_aws" and key not in named and key not in dimension_names}
        found = []
        for directive in directives:
            for names in directive["Dimensions"]:
                dimensions = tuple(sorted((name, str(document[name])) for name in names))
                for metric in directive["Metrics"]:
                    values = document[metric["Name"]]
                    for value in values if isinstance(values, list) else [values]:
                        found.append(Datapoint(function, timestamp, directive["Namespace"], metric["Name"],
                                               dimensions, metric.get("Unit", "None"), float(value), properties))
        return found
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise EmfError(f"not a valid EMF document ({error!r})") from None


class Telemetry:
    """The log events and metric datapoints of every function of a stack, the latest `limit` of each."""

    def __init__(self, limit: int = 20_000):
        self._events: deque[LogEvent] = deque(maxlen=limit)
        self._datapoints: deque[Datapoint] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self.malformed = 0  # EMF documents CloudWatch would have rejected

    def write(self, function: str, line: str) -> LogEvent:
        """Record one line `function` wrote to stdout."""
        received = time.time()
        text = line.rstrip("\n")
        fields = None
        if text.startswith("{"):
            try:
                parsed = json.loads(text)
                fields = parsed if isinstance(parsed, dict) else None
            except ValueError:
                pass
        event = LogEvent(function, received, text, fields)
        points: list[Datapoint] = []
        malformed = False
        if fields is not None and "_aws" in fields:
            try:
                points = datapoints(function, fields, received)
            except EmfError:
                malformed = True
        with self._lock:
            self._events.append(event)
            self._datapoints.extend(points)
            self.malformed += malformed
        return event

    def events(self, function: str | None = None) -> list[LogEvent]:
        with self._lock:
            return [event for event in self._events if function is None or event.function == function]

    def datapoints(self) -> list[Datapoint]:
        with self._lock:
            return list(self._datapoints)
