"""Every file in events/ replayed against its function over moto, as `sam local invoke -e` would."""

import base64
import json
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from imageservice.keys import upload_key
from lambda_responses import response_json

EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").glob("*.json"))
SAMPLE_ID = "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90"


def function_for(event: dict, stack) -> str:
    if "Records" in event:
        key = unquote_plus(event["Records"][0]["s3"]["object"]["key"])
        return next(f.logical_id for f in stack.functions.values()
                    if any(key.startswith(trigger.prefix) for trigger in f.s3_triggers))
    if event["routeKey"] == "$default":  # a function URL's event: the one function with a URL
        return next(logical_id for logical_id, resource in stack.template["Resources"].items()
                    if "FunctionUrlConfig" in resource.get("Properties", {}))
    method, path = event["routeKey"].split(" ", 1)
    return next(f.logical_id for f in stack.functions.values()
                if any((r.method, r.path) == (method, path) for r in f.routes))


@pytest.fixture
def processed_sample(s3, config, load_event, invoke):
    """The sample image, stored under the sample id and processed, so read events find it."""
    image = base64.b64decode(load_event("upload_post_image.json")["body"])
    s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(SAMPLE_ID), Body=image)
    invoke("ProcessFunction", load_event("process_put.json"))


EXPECTED_STATUS = {
    "upload_post_image.json": 202,
    "upload_post_multipart.json": 202,
    "upload_post_uploads.json": 201,
    "presign_get_image.json": 200,
    "presign_get_image_wait.json": 200,
    "presign_get_variant.json": 302,
    "presign_get_options.json": 200,
    "presign_health.json": 200,
    "delete_image.json": 204,
    "presign_list_images.json": 200,
    "render_get.json": 200,
}
# SessionFunction's need the roles of AuthMode cognito or oidc (reading the signing key): tests/integration/
# test_session.py replays them under those.
ELSEWHERE = {"session_post.json", "session_delete.json"}
REPLAYED = [path for path in EVENTS if path.name not in ELSEWHERE]


@pytest.mark.parametrize("path", REPLAYED, ids=[p.name for p in REPLAYED])
def test_event_replays_against_its_function(path, stack, invoke, processed_sample, s3, config, function_env):
    event = json.loads(path.read_text())
    if "jwt" in event.get("requestContext", {}).get("authorizer", {}):
        function_env({"AUTH_MODE": "cognito"})  # a request API Gateway's JWT authorizer let through
    result = invoke(function_for(event, stack), event)
    if "Records" in event:
        assert result is None
        return
    assert result["statusCode"] == EXPECTED_STATUS[path.name], result
    if result["statusCode"] >= 400:
        pytest.fail(response_json(result))


def test_every_sample_event_has_an_expectation():
    http_events = {p.name for p in EVENTS if "routeKey" in json.loads(p.read_text())}
    assert http_events == set(EXPECTED_STATUS) | ELSEWHERE
