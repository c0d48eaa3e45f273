"""The dashboard renders from template.yaml into a body CloudWatch accepts, and it watches this stack's own
resources; tests/e2e/test_local_stack_telemetry.py proves its custom metrics are ones the functions emit."""

import re

import pytest

from tests.dashboard import dashboard_body, metric_rows, plotted_metrics
from tests.template_render import Resolver, transformed

OTHER_STACK = "photos-prod"
GRID_COLUMNS = 24
FUNCTION_METRICS = ("Errors", "Throttles", "ConcurrentExecutions")
_ID = re.compile(r"\b[a-z][A-Za-z0-9_]*\b")
_FUNCTIONS = {"FILL", "SEARCH", "SUM"}


@pytest.fixture(scope="module")
def template():
    return transformed()


@pytest.fixture(scope="module", params=["false", "true"], ids=["edge-metrics-off", "edge-metrics-on"])
def body(request):
    return dashboard_body({"EdgeMetrics": request.param})


def widget(body: dict, title: str) -> dict:
    return next(w for w in body["widgets"] if w["properties"].get("title") == title)


def invoked_functions(template: dict) -> set[str]:
    """The functions a route, a trigger or the distribution invokes (the custom resources' functions run only
    during deploys)."""
    return {
        logical_id for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Permission"
        and resource["Properties"]["Principal"] in ("apigateway.amazonaws.com", "s3.amazonaws.com",
                                                    "cloudfront.amazonaws.com")
        for logical_id in [resource["Properties"]["FunctionName"]["Ref"]]
    }


def test_widgets_fit_the_grid_without_overlapping(body):
    taken: set[tuple[int, int]] = set()
    for w in body["widgets"]:
        assert 0 <= w["x"] and w["x"] + w["width"] <= GRID_COLUMNS, w["properties"].get("title")
        cells = {(x, y) for x in range(w["x"], w["x"] + w["width"]) for y in range(w["y"], w["y"] + w["height"])}
        assert not cells & taken, f"{w['properties'].get('title')} overlaps another widget"
        taken |= cells


def test_cache_hit_rate_is_shown_exactly_when_cloudfront_publishes_it(template):
    for setting, shown in (("false", False), ("true", True)):
        titles = [w["properties"].get("title") for w in dashboard_body({"EdgeMetrics": setting})["widgets"]]
        assert ("CloudFront cache hit rate (%)" in titles) is shown
    subscription = template["Resources"]["DistributionMetrics"]
    assert subscription["Condition"] == "EdgeMetricsOn"
    assert subscription["Properties"]["DistributionId"] == {"Ref": "Distribution"}
    assert template["Conditions"]["EdgeMetricsOn"] == {"Fn::Equals": [{"Ref": "EdgeMetrics"}, "true"]}
    assert template["Parameters"]["EdgeMetrics"]["Default"] == "false"


def test_the_alarm_widget_shows_every_alarm(template, body):
    alarms = {logical_id for logical_id, resource in template["Resources"].items()
              if resource["Type"] == "AWS::CloudWatch::Alarm"}
    assert len(alarms) >= 4
    assert set(widget(body, "Alarms")["properties"]["alarms"]) == {f"{alarm}.Arn" for alarm in alarms}


@pytest.mark.parametrize("metric", FUNCTION_METRICS)
def test_every_invoked_function_has_its_errors_throttles_and_concurrency(template, body, metric):
    functions = invoked_functions(template)
    assert functions == {"UploadFunction", "PresignFunction", "DeleteFunction", "ProcessFunction", "RenderFunction",
                         "InvalidateFunction", "SessionFunction"}
    shown = {dict(m.dimensions)["FunctionName"] for m in plotted_metrics(body)
             if m.namespace == "AWS/Lambda" and m.name == metric}
    # Resolver names a resource's Ref "<logical id>.None": each is this template's function, no other's.
    assert shown == {f"{function}.None" for function in functions}


def test_service_metrics_watch_this_stacks_own_resources(body):
    resources = {("AWS/SQS", "QueueName"): "ProcessFailureQueue.QueueName",
                 ("AWS/ApiGateway", "ApiId"): "ImagesApi.None",
                 ("AWS/CloudFront", "DistributionId"): "Distribution.None"}
    seen = set()
    for metric in plotted_metrics(body):
        for (namespace, dimension), value in resources.items():
            if metric.namespace == namespace:
                assert dict(metric.dimensions)[dimension] == value, metric
                seen.add(namespace)
    assert seen == {"AWS/SQS", "AWS/ApiGateway", "AWS/CloudFront"}
    cloudfront = [w for w in body["widgets"] if "CloudFront" in w["properties"].get("title", "")]
    # us-east-1: where CloudFront publishes its metrics.
    assert cloudfront and all(w["properties"]["region"] == "us-east-1" for w in cloudfront)


def test_custom_metrics_are_the_functions_namespace_and_this_stacks_service(template):
    environment = template["Resources"]["ProcessFunction"]["Properties"]["Environment"]["Variables"]
    namespace = environment["POWERTOOLS_METRICS_NAMESPACE"]
    assert environment["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    custom = [m for m in plotted_metrics(dashboard_body(stack_name=OTHER_STACK)) if not m.namespace.startswith("AWS/")]
    assert custom
    for metric in custom:
        assert metric.namespace == namespace, metric
        assert dict(metric.dimensions)["service"] == OTHER_STACK, metric


def test_expressions_name_only_metrics_of_their_widget(body):
    for w in body["widgets"]:
        rows = metric_rows(w)
        options = [item for row in rows for item in row if isinstance(item, dict)]
        ids = {option["id"] for option in options if "id" in option}
        for option in options:
            if "expression" in option:
                expression = re.sub(r"'[^']*'", "", option["expression"])  # SEARCH's quoted query
                used = set(_ID.findall(expression)) - _FUNCTIONS
                assert used <= ids, f"{w['properties']['title']}: {option['expression']} uses {used - ids}"


def test_cost_per_thousand_images_follows_the_memory_size(template):
    for memory in ("1769", "3008"):
        cost = widget(dashboard_body({"ProcessMemorySize": memory}), "Estimated USD per 1,000 images")
        expression = next(item["expression"] for row in metric_rows(cost) for item in row
                          if isinstance(item, dict) and item.get("id") == "cost")
        assert f"duration / 1000 * {memory} / 1024" in expression


def test_the_failures_table_reads_the_process_functions_log_group(body):
    query = widget(body, "Recent failures")["properties"]["query"]
    assert query.startswith("SOURCE 'ProcessFunctionLogGroup.None' |")
    # The fields of record_outcome's "image processed" line (src/process/app.py).
    assert "filter status = 'failed'" in query and "error.code" in query and "image_id" in query


def test_the_dashboard_url_is_an_output(template):
    resolver = Resolver(template, OTHER_STACK, "51af3dc0-da77-11e4-872e-1234567db123",
                        physical=lambda logical_id, attribute=None: f"{OTHER_STACK}-ap-southeast-2")
    name = resolver.resolve(template["Resources"]["Dashboard"]["Properties"]["DashboardName"])
    assert name == f"{OTHER_STACK}-ap-southeast-2"
    url = resolver.resolve(template["Outputs"]["DashboardUrl"]["Value"])
    assert url == (f"https://ap-southeast-2.console.aws.amazon.com/cloudwatch/home?region=ap-southeast-2"
                   f"#dashboards:name={name}")
