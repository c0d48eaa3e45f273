"""The CloudWatch dashboard of template.yaml as CloudFormation would create it, and the metrics it plots."""

import json
import re
from dataclasses import dataclass

from devstack.cfn.template import LOCAL_STACK_NAME
from tests.template_render import Resolver, transformed

STACK_UUID = "51af3dc0-da77-11e4-872e-1234567db123"
# SEARCH('{Namespace,dim,dim} MetricName="Name" dim="value"', 'Stat', period): the schema names the exact
# dimension set; the quoted terms after it filter by metric name and dimension values.
_SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\}(?P<terms>[^']*)'")
_TERM = re.compile(r'(?P<key>[A-Za-z0-9_]+)="(?P<value>[^"]*)"')


@dataclass(frozen=True)
class PlottedMetric:
    """One metric a widget plots: namespace, name, and its dimensions (a SEARCH fixes their names, and may
    leave some values open: those are None)."""

    widget: str
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str | None], ...]

    @property
    def dimension_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.dimensions)


def dashboard_body(parameters: dict[str, str] | None = None, stack_name: str = LOCAL_STACK_NAME) -> dict:
    """The dashboard's body, resolved for a stack (the local stack's name by default) and parsed."""
    template = transformed()
    resolver = Resolver(template, stack_name, STACK_UUID, parameters)
    return json.loads(resolver.resolve(template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]))


def metric_rows(widget: dict) -> list[list]:
    """The widget's metric rows with CloudWatch's shorthand expanded: "." repeats the value above it, and a
    leading "..." repeats all of the row above but for the values given after it (counted from the end)."""
    rows: list[list] = []
    previous: list = []
    for row in widget["properties"].get("metrics", []):
        values = [item for item in row if not isinstance(item, dict)]
        options = [item for item in row if isinstance(item, dict)]
        if values and values[0] == "...":
            given = values[1:]
            values = previous[: len(previous) - len(given)] + given
        else:
            values = [previous[i] if value == "." else value for i, value in enumerate(values)]
        if values:
            previous = values
        rows.append(values + options)
    return rows


def plotted_metrics(body: dict) -> list[PlottedMetric]:
    """Every metric the body's widgets plot: each metric row, and each SEARCH expression's metrics."""
    plotted = []
    for widget in body["widgets"]:
        title = widget["properties"].get("title", "")
        for row in metric_rows(widget):
            values = [item for item in row if not isinstance(item, dict)]
            options = next((item for item in row if isinstance(item, dict)), {})
            if values:
                namespace, name, *pairs = values
                dimensions = tuple(zip(pairs[::2], pairs[1::2], strict=True))
                plotted.append(PlottedMetric(title, namespace, name, tuple(sorted(dimensions))))
            for search in _SEARCH.finditer(options.get("expression", "")):
                namespace, *names = [part.strip() for part in search["schema"].split(",")]
                terms = {term["key"]: term["value"] for term in _TERM.finditer(search["terms"])}
                dimensions = tuple(sorted((name, terms.get(name)) for name in names))
                plotted.append(PlottedMetric(title, namespace, terms["MetricName"], dimensions))
    return plotted


@dataclass(frozen=True)
class EmittedMetric:
    """One metric of an EMF document: namespace, name and one of its dimension sets, with their values."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]

    @property
    def dimension_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.dimensions)


def emitted_metrics(document: dict) -> list[EmittedMetric]:
    """The metrics an EMF document publishes: each metric under each of its directives' dimension sets."""
    emitted = []
    for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
        for dimension_set in directive["Dimensions"]:
            dimensions = tuple(sorted((name, str(document[name])) for name in dimension_set))
            for metric in directive["Metrics"]:
                emitted.append(EmittedMetric(directive["Namespace"], metric["Name"], dimensions))
    return emitted


def is_plotted_by(emitted: EmittedMetric, plotted: PlottedMetric) -> bool:
    """Whether CloudWatch would draw `emitted` in `plotted`: same namespace, name and dimension names, and
    every value the dashboard fixes."""
    return (emitted.namespace, emitted.name, emitted.dimension_names) == \
        (plotted.namespace, plotted.name, plotted.dimension_names) and \
        all(value is None or dict(emitted.dimensions)[name] == value for name, value in plotted.dimensions)


def unplotted(body: dict, emitted: list[EmittedMetric]) -> list[PlottedMetric]:
    """The custom metrics the dashboard plots that no emitted metric feeds: its empty graphs."""
    return [plotted for plotted in plotted_metrics(body) if not plotted.namespace.startswith("AWS/")
            and not any(is_plotted_by(metric, plotted) for metric in emitted)]
