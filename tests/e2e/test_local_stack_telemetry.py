"""What the deployed dashboard will show, proven on the local stack: every custom metric it plots is one the
functions emit (their EMF lines, as the stack records them), one upload's id runs through the logs of every
function it passes, and /_stack/ shows the counts, durations and failures."""

import time

import pytest

from devstack.cloudwatch.page import PATH as STACK_PAGE
from tests.dashboard import EmittedMetric, dashboard_body, unplotted

pytestmark = pytest.mark.e2e

NOT_AN_IMAGE = b"these bytes are no image at all"


def corrupt_jpeg(photo) -> bytes:
    """A JPEG cut short: accepted (its signature is an image's), then failed by processing (corrupt_image)."""
    return photo(640, 480, seed=7)[:600]


def eventually(check, timeout: float = 15.0):
    """`check()`'s first truthy answer: the stack records what a function wrote as it arrives, just after the answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def emitted_since(local_stack, started: float) -> list[EmittedMetric]:
    return [EmittedMetric(p.namespace, p.name, p.dimensions)
            for p in local_stack.telemetry.datapoints() if p.timestamp >= started - 1]


def structured(local_stack, function: str, started: float) -> list[dict]:
    return [event.fields for event in local_stack.telemetry.events(function)
            if event.fields and "level" in event.fields and event.timestamp >= started - 1]


def test_every_custom_metric_the_dashboard_plots_is_emitted_by_the_local_stack(
    local_stack, base_url, http, photo, wait_done
):
    started = time.time()
    body = dashboard_body(local_stack.overrides)
    done = http.post(f"{base_url}/api/images", data=photo(), headers={"Content-Type": "image/jpeg"})
    failed = http.post(f"{base_url}/api/images", data=corrupt_jpeg(photo), headers={"Content-Type": "image/jpeg"})
    assert (done.status_code, failed.status_code) == (202, 202)
    assert http.post(f"{base_url}/api/uploads", json={}).status_code == 201
    assert http.post(f"{base_url}/api/images", data=NOT_AN_IMAGE).status_code == 415
    assert wait_done(done.json()["id"])["status"] == "done"
    assert wait_done(failed.json()["id"])["status"] == "failed"

    eventually(lambda: not unplotted(body, emitted_since(local_stack, started)))
    assert unplotted(body, emitted_since(local_stack, started)) == []
    assert local_stack.telemetry.malformed == 0


def test_one_uploads_id_is_on_every_log_line_of_upload_processing_and_status(local_stack, base_url, http, photo,
                                                                              wait_done):
    started = time.time()
    upload = http.post(f"{base_url}/api/images", data=photo(seed=3), headers={"Content-Type": "image/jpeg"})
    image_id = upload.json()["id"]
    assert wait_done(image_id)["status"] == "done"
    status = http.get(f"{base_url}/api/images/{image_id}/no-such-variant")  # refused: a log line of its own
    assert status.status_code == 404

    def lines_of(function: str, request_id: str | None = None) -> list[dict]:
        return [line for line in structured(local_stack, function, started)
                if (request_id is None and line.get("image_id") == image_id) or
                (request_id is not None and line.get("correlation_id") == request_id)]

    # Every line of the upload's and of the status request's invocations (found by the API's request id, the
    # apigw-requestid header) names the image; processing's lines name it too.
    upload_lines = eventually(lambda: lines_of("UploadFunction", upload.headers["apigw-requestid"]))
    status_lines = eventually(lambda: lines_of("PresignFunction", status.headers["apigw-requestid"]))
    process_lines = eventually(lambda: [line for line in lines_of("ProcessFunction")
                                        if line["message"] == "image processed"])
    assert [line["message"] for line in upload_lines] == ["original stored"]
    assert [line["message"] for line in status_lines] == ["request refused"]
    assert [line["status"] for line in process_lines] == ["done"]
    for line in upload_lines + status_lines + lines_of("ProcessFunction"):
        assert line["image_id"] == image_id, line
    # The query docs/observability.md gives (filter image_id = ...) finds all three functions.
    found = {event.function for event in local_stack.telemetry.events()
             if event.fields and event.fields.get("image_id") == image_id and "level" in event.fields}
    assert found == {"UploadFunction", "ProcessFunction", "PresignFunction"}


def test_the_stack_page_shows_counts_durations_and_recent_failures(local_stack, base_url, http, photo, wait_done):
    failed = http.post(f"{base_url}/api/images", data=corrupt_jpeg(photo), headers={"Content-Type": "image/jpeg"})
    image_id = failed.json()["id"]
    assert wait_done(image_id)["status"] == "failed"

    def page() -> str:
        answer = http.get(f"{base_url}{STACK_PAGE}")
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "text/html; charset=utf-8"
        return answer.text if image_id in answer.text else ""

    text = eventually(page)
    assert image_id in text  # the failure's image, from the metric document's image_id
    for shown in ("ImagesProcessed", "ImagesFailed", "code=corrupt_image", "ProcessingTime (ms)", "BytesIn",
                  "UploadToDoneTime (ms)", "service=image-processing-local"):
        assert shown in text, shown
    answer = http.get(f"{base_url}{STACK_PAGE}")
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]  # the site's headers, as any page
    assert "<script" not in answer.text and "style=" not in answer.text


@pytest.mark.parametrize("path", ["/_stack", "/_stack/index.html", "/_stack/../index.html", "/_stack/x"])
def test_the_stack_page_is_one_path_and_nothing_more(base_url, http, path):
    answer = http.get(f"{base_url}{path}", allow_redirects=False)
    if path == "/_stack/../index.html":  # normalised by the client to /index.html: the page itself
        assert answer.status_code == 200 and "<title>" in answer.text
        assert "what the functions emitted" not in answer.text
    else:
        assert answer.status_code == 404


def test_the_stack_page_takes_no_writes(base_url, http):
    assert http.post(f"{base_url}{STACK_PAGE}", data=b"x").status_code == 405
