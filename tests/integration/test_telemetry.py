"""What the functions tell an operator, over moto: one image's ids on every log line, and the metrics
(EMF documents on stdout) that the dashboard plots."""

import io
import json
import logging
from urllib.parse import quote_plus

import imageservice.http
import pytest
from aws_lambda_powertools import Logger
from imageservice.keys import upload_key
from lambda_responses import response_json

from devstack.lambda_.functions import load_handler
from tests.dashboard import dashboard_body, emitted_metrics, unplotted


@pytest.fixture
def telemetry(function_env, capsys, monkeypatch, stack):
    """Every JSON line the functions write: Powertools' log lines (its logger's handler holds the stdout of
    the moment it was made, so its stream is swapped for the test's) and the metric documents (printed)."""
    for function in ("UploadFunction", "ProcessFunction", "PresignFunction"):
        load_handler(stack.functions[function])  # the functions' logger exists once a handler module is loaded
    # On Lambda every module's Logger() is made in the function's environment, so all are the service's one
    # logger; here a shared module may have been imported by an earlier test without it.
    monkeypatch.setattr(imageservice.http, "logger", Logger())
    logger = logging.getLogger(stack.functions["UploadFunction"].environment["POWERTOOLS_SERVICE_NAME"])
    copy = io.StringIO()
    # Set, not setStream(): that flushes the old stream, which an earlier test's capture may have closed.
    streams = [(handler, handler.stream) for handler in logger.handlers if isinstance(handler, logging.StreamHandler)]
    assert streams
    for handler, _ in streams:
        handler.stream = copy

    def lines() -> list[dict]:
        captured = capsys.readouterr().out + copy.getvalue()
        return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]

    yield lines
    for handler, stream in streams:
        handler.stream = stream


def s3_event(load_event, stack, image_id: str) -> dict:
    event = load_event("process_put.json")
    event["Records"][0]["s3"]["object"]["key"] = quote_plus(upload_key(image_id))
    event["Records"][0]["s3"]["bucket"]["name"] = stack.bucket_name("StoredImagesBucket")
    return event


def test_one_images_id_is_on_every_log_line_of_upload_processing_and_status(
    invoke, load_event, http_event, stack, photo, telemetry
):
    upload_event = http_event(load_event("upload_post_image.json"), body=photo())
    image_id = response_json(invoke("UploadFunction", upload_event))["id"]
    process_event = s3_event(load_event, stack, image_id)
    invoke("ProcessFunction", process_event)
    status_event = http_event(load_event("presign_get_variant.json"), path=f"/api/images/{image_id}/poster",
                              path_parameters={"id": image_id, "variant": "poster"})
    assert invoke("PresignFunction", status_event)["statusCode"] == 404  # refused: a log line of its own

    logged = [line for line in telemetry() if "level" in line]
    by_function = {}
    for line in logged:
        by_function.setdefault(line["function_name"], []).append(line)
    assert set(by_function) == {"UploadFunction", "ProcessFunction", "PresignFunction"}
    assert [line["message"] for line in by_function["UploadFunction"]] == ["original stored"]
    assert "image processed" in [line["message"] for line in by_function["ProcessFunction"]]
    assert [line["message"] for line in by_function["PresignFunction"]] == ["request refused"]
    for line in logged:
        assert line["image_id"] == image_id, line
    # The API's request id, as its access log writes it; for processing, S3's id of the request that stored it.
    assert {line["correlation_id"] for line in by_function["UploadFunction"]} == \
        {upload_event["requestContext"]["requestId"]}
    assert {line["correlation_id"] for line in by_function["PresignFunction"]} == \
        {status_event["requestContext"]["requestId"]}
    assert {line["correlation_id"] for line in by_function["ProcessFunction"]} == \
        {process_event["Records"][0]["responseElements"]["x-amz-request-id"]}


def test_a_refused_upload_logs_its_request_id_and_no_image(invoke, load_event, http_event, telemetry):
    event = http_event(load_event("upload_post_image.json"), body=b"not an image at all")
    assert invoke("UploadFunction", event)["statusCode"] == 415
    refused = [line for line in telemetry() if line.get("message") == "request refused"]
    assert len(refused) == 1
    assert refused[0]["correlation_id"] == event["requestContext"]["requestId"]
    assert "image_id" not in refused[0]


def test_every_custom_metric_the_dashboard_plots_is_emitted(invoke, load_event, http_event, stack, photo, telemetry):
    body = dashboard_body()
    accepted = response_json(invoke("UploadFunction", http_event(load_event("upload_post_image.json"), body=photo())))
    invoke("UploadFunction", http_event(load_event("upload_post_uploads.json"), body="{}"))
    invoke("UploadFunction", http_event(load_event("upload_post_image.json"), body=b"not an image at all"))
    invoke("ProcessFunction", s3_event(load_event, stack, accepted["id"]))
    corrupt = response_json(invoke("UploadFunction", http_event(load_event("upload_post_image.json"),
                                                                body=photo()[:400])))
    invoke("ProcessFunction", s3_event(load_event, stack, corrupt["id"]))

    emitted = [metric for line in telemetry() if "_aws" in line for metric in emitted_metrics(line)]
    assert unplotted(body, emitted) == []
    # And the test can tell: without the failures, the failure graphs would be empty.
    without_failures = [metric for metric in emitted if metric.name != "ImagesFailed"]
    assert {m.name for m in unplotted(body, without_failures)} == {"ImagesFailed"}
