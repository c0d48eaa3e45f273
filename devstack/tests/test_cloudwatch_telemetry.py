"""The functions' output read as CloudWatch reads it: log events, and the metrics of EMF documents."""

import json

from devstack.cloudwatch.page import percentile, render
from devstack.cloudwatch.telemetry import Telemetry

EMF = {
    "_aws": {"Timestamp": 1_700_000_000_000, "CloudWatchMetrics": [{
        "Namespace": "Shop", "Dimensions": [["service"], ["code", "service"]],
        "Metrics": [{"Name": "Failed", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}],
    }]},
    "service": "checkout", "code": "card_declined", "order_id": "o-1", "Failed": [1.0], "Latency": [120, 80],
}


def test_each_metric_under_each_dimension_set_with_every_value():
    telemetry = Telemetry()
    telemetry.write("PayFunction", json.dumps(EMF) + "\n")
    points = telemetry.datapoints()
    assert sorted((p.name, p.dimensions, p.value) for p in points) == [
        ("Failed", (("code", "card_declined"), ("service", "checkout")), 1.0),
        ("Failed", (("service", "checkout"),), 1.0),
        ("Latency", (("code", "card_declined"), ("service", "checkout")), 80.0),
        ("Latency", (("code", "card_declined"), ("service", "checkout")), 120.0),
        ("Latency", (("service", "checkout"),), 80.0),
        ("Latency", (("service", "checkout"),), 120.0),
    ]
    assert {p.timestamp for p in points} == {1_700_000_000.0}  # the document's own time
    assert {p.namespace for p in points} == {"Shop"} and {p.function for p in points} == {"PayFunction"}
    assert all(p.properties == {"order_id": "o-1"} for p in points)  # neither dimension nor metric


def test_every_line_is_a_log_event_and_only_valid_emf_makes_metrics():
    telemetry = Telemetry()
    telemetry.write("F", '{"level": "INFO", "message": "hello", "image_id": "i-1"}\n')
    telemetry.write("F", "Traceback (most recent call last):\n")
    broken = {**EMF, "_aws": {"CloudWatchMetrics": [{"Namespace": "Shop", "Dimensions": [["missing"]],
                                                     "Metrics": [{"Name": "Failed"}]}]}}
    telemetry.write("G", json.dumps(broken))
    events = telemetry.events()
    assert [e.message for e in events][1] == "Traceback (most recent call last):"
    assert events[0].level == "INFO" and events[0].fields["image_id"] == "i-1" and events[1].fields is None
    assert telemetry.datapoints() == [] and telemetry.malformed == 1
    assert [e.function for e in telemetry.events("G")] == ["G"]


def test_the_oldest_go_first():
    telemetry = Telemetry(limit=3)
    for number in range(5):
        telemetry.write("F", f"line {number}")
    assert [e.message for e in telemetry.events()] == ["line 2", "line 3", "line 4"]


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 99) == 7.0


def test_the_page_escapes_what_the_functions_wrote_and_lists_failures():
    telemetry = Telemetry()
    telemetry.write("PayFunction", json.dumps({**EMF, "code": "<script>alert(1)</script>"}))
    telemetry.write("PayFunction", json.dumps({"level": "ERROR", "message": "<b>boom</b>", "image_id": "i-9"}))
    page = render(telemetry, "Shop & co", ["Failed"]).decode()
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;boom&lt;/b&gt;" in page
    assert "Shop &amp; co" in page
    failures = page.split("<h2>Recent failures</h2>")[1].split("<h2>")[0]
    assert "order_id=o-1" in failures and failures.count("<tr><td>") == 1  # the by-code datapoint, not the total
    assert "Latency (ms)" in page and "service=checkout" in page
