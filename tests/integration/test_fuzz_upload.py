"""Hostile requests through the API functions over moto, every answer a documented one:
- POST /api/images (UploadFunction): random bodies, content types, multipart framing (browser boundaries,
  costly shapes: many parts, parameters, header lines, nesting) and query strings, some bodies cut short
  of their Content-Length. 202 or a documented 4xx with {"error": {"code", "message"}}, never a 5xx or an
  exception, within UploadFunction's timeout; a well-formed upload is accepted and a cut one refused;
  nothing is stored unless it was accepted, and what is stored is an accepted image.
- POST /api/uploads: JSON bodies of every type, duplicate names, NaN, nesting deeper than the stack.
- GET /api/images/{id}[/{variant}] (PresignFunction): odd ids, variant names and ?wait= digits.
Error messages are short and printable. The strategies live in testkit/fuzz_strategies.py; scripts/fuzz.py
runs them for longer."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from imageservice.keys import manifest_key, new_image_id, upload_key
from imageservice.manifest import Manifest
from imageservice.records import OriginalMetadata
from imageservice.sniff import IMAGE_CONTENT_TYPES, sniff_image_type
from lambda_responses import response_json

from testkit.fuzz_strategies import (
    STATUS_ERROR_CODES,
    UPLOADS_ERROR_CODES,
    api_outcome,
    status_requests,
    time_budget,
    upload_event,
    upload_outcome,
    upload_requests,
    uploads_bodies,
    uploads_event,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

FUZZ_SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
UPLOAD_FUNCTION_TIMEOUT_SECONDS = 10  # template.yaml's Globals; the budget of one request


def stored_keys(s3, bucket: str) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


# The deployed limit, and one small enough that the fuzzed bodies cross it (413 before and after parsing).
@pytest.mark.parametrize("max_bytes", ["4194304", "1024"])
def test_hostile_uploads_get_202_or_a_documented_4xx(invoke, load_event, s3, config, function_env, max_bytes):
    function_env({"DIRECT_UPLOAD_MAX_BYTES": max_bytes})
    template = load_event("upload_post_image.json")
    stored_bucket = config.stored_images_bucket

    @FUZZ_SETTINGS
    @given(request=upload_requests())
    def check(request):
        before = stored_keys(s3, stored_bucket)
        with time_budget(UPLOAD_FUNCTION_TIMEOUT_SECONDS):
            response = invoke("UploadFunction", upload_event(template, request))
        outcome = upload_outcome(response, request)
        after = stored_keys(s3, stored_bucket)
        if outcome != "202":
            assert after == before, "a refused upload left an object behind"
            return
        image_id = response_json(response)["id"]
        assert after - before == {upload_key(image_id)}
        stored = s3.get_object(Bucket=stored_bucket, Key=upload_key(image_id))
        data = stored["Body"].read()
        kind = sniff_image_type(data)
        assert kind is not None and stored["ContentType"] == IMAGE_CONTENT_TYPES[kind]
        assert 0 < len(data) <= int(max_bytes)
        OriginalMetadata.from_s3(stored["Metadata"])  # what processing will read back is valid
        s3.delete_object(Bucket=stored_bucket, Key=upload_key(image_id))  # moto lists a full bucket slowly

    check()


def test_hostile_upload_tickets_get_201_or_a_documented_4xx(invoke, load_event):
    template = load_event("upload_post_uploads.json")

    @FUZZ_SETTINGS
    @given(body=uploads_bodies())
    def check(body):
        with time_budget(UPLOAD_FUNCTION_TIMEOUT_SECONDS):
            response = invoke("UploadFunction", uploads_event(template, body))
        api_outcome(response, UPLOADS_ERROR_CODES, success=201)

    check()


def test_hostile_status_requests_get_a_documented_answer(invoke, load_event, http_event, upload, process, s3,
                                                         config, monkeypatch):
    import status

    monkeypatch.setattr(status, "POLL_INTERVAL_SECONDS", math.inf)  # ?wait= gives up at once instead of polling
    images = {"done": upload(), "pending": upload(), "deleted": new_image_id()}
    process(images["done"])
    s3.put_object(Bucket=config.processed_images_bucket, Key=manifest_key(images["deleted"]),
                  Body=Manifest.deleted(images["deleted"]).to_json())
    image_event, variant_event = load_event("presign_get_image.json"), load_event("presign_get_variant.json")

    @FUZZ_SETTINGS
    @given(request=status_requests)
    def check(request):
        image_id = images.get(request.image_id, request.image_id)
        query = {"wait": request.wait} if request.wait is not None else {}
        if request.variant is None:
            event = http_event(image_event, path=f"/api/images/{image_id}", path_parameters={"id": image_id},
                               query=query)
        else:
            event = http_event(variant_event, path=f"/api/images/{image_id}/{request.variant}",
                               path_parameters={"id": image_id, "variant": request.variant})
        response = invoke("PresignFunction", event)
        errors = {**STATUS_ERROR_CODES, 422: set()}  # 422 carries the image's own error, checked below
        if response["statusCode"] == 422:
            assert response_json(response)["status"] == "failed"
            return
        api_outcome(response, errors, success=(200, 202, 302))

    check()
