"""Every API function refuses a request that did not come through CloudFront (issue 20, item 7): without the origin
secret CloudFront's API origin adds (X-Origin-Verify), or with another value, the answer is 403 forbidden before
any route runs; an API function deployed without the secret refuses everything rather than opening the API."""

import pytest
from lambda_responses import response_json

from testkit.events import ORIGIN_HEADER, events_origin_secret

# One request per API function, each a sample event of events/ (which carry the header as CloudFront sends it).
REQUESTS = [
    ("UploadFunction", "upload_post_uploads.json"),
    ("PresignFunction", "presign_health.json"),
    ("PresignFunction", "presign_get_options.json"),
    ("DeleteFunction", "delete_image.json"),
]


def with_origin_header(event: dict, value: str | None) -> dict:
    headers = {name: item for name, item in event["headers"].items() if name != ORIGIN_HEADER}
    return {**event, "headers": headers if value is None else {**headers, ORIGIN_HEADER: value}}


@pytest.mark.parametrize(("function", "sample"), REQUESTS)
def test_the_sample_event_as_cloudfront_sends_it_is_answered(invoke, load_event, function, sample):
    response = invoke(function, load_event(sample))
    assert response["statusCode"] != 403, response
    assert load_event(sample)["headers"][ORIGIN_HEADER] == events_origin_secret()


@pytest.mark.parametrize(("function", "sample"), REQUESTS)
@pytest.mark.parametrize("sent", [None, "", "guessed", events_origin_secret()[:-1], events_origin_secret() + "x",
                                  events_origin_secret().upper(), f"{events_origin_secret()},{events_origin_secret()}"],
                         ids=["missing", "empty", "guessed", "a-prefix", "longer", "other-case", "sent-twice"])
def test_without_the_right_header_every_api_function_answers_403(invoke, load_event, function, sample, sent):
    response = invoke(function, with_origin_header(load_event(sample), sent))
    assert response["statusCode"] == 403, response
    error = response_json(response)["error"]
    assert error["code"] == "forbidden"
    assert "through the site" in error["message"]
    assert response["headers"]["Content-Type"] == "application/json"


def test_a_refused_delete_deletes_nothing(invoke, load_event, http_event, upload, s3, config):
    image_id = upload()
    event = http_event(load_event("delete_image.json"), path=f"/api/images/{image_id}",
                       path_parameters={"id": image_id})
    assert invoke("DeleteFunction", with_origin_header(event, None))["statusCode"] == 403
    listing = s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix="uploads/")
    assert any(image_id in item["Key"] for item in listing.get("Contents", []))
    assert invoke("DeleteFunction", event)["statusCode"] == 204


def test_an_api_function_without_the_secret_refuses_everything_and_says_why_in_its_log(
        invoke, load_event, function_env, caplog):
    """The template always sets ORIGIN_SECRET: a function without it is a broken deployment, which must not open
    the API to direct calls; it answers 500 (no internals) and its log names the variable."""
    function_env({"ORIGIN_SECRET": ""})
    response = invoke("PresignFunction", load_event("presign_health.json"))
    assert response["statusCode"] == 500
    assert response_json(response)["error"]["code"] == "internal_error"
    assert "ORIGIN_SECRET" not in response["body"]
    assert "ORIGIN_SECRET" in caplog.text


def test_the_render_function_behind_origin_access_control_needs_no_origin_header(invoke, load_event):
    """CloudFront reaches RenderFunction through its IAM-guarded URL, and sends it no origin header."""
    event = load_event("render_get.json")
    assert ORIGIN_HEADER not in event["headers"]
    assert invoke("RenderFunction", event)["statusCode"] != 403
