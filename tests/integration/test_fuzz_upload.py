"""Hostile requests through UploadFunction over moto: random bodies, content types, multipart framing and
query strings. Every answer is 202 or a documented 4xx with {"error": {"code", "message"}}, never a 5xx
or an exception; nothing is stored unless it was accepted, and what is stored is an accepted image.
The strategies live in testkit/fuzz_strategies.py; scripts/fuzz.py runs them for longer."""

import pytest
from hypothesis import HealthCheck, given, settings
from imageservice.keys import upload_key
from imageservice.options import ImageOptions
from imageservice.sniff import IMAGE_CONTENT_TYPES, sniff_image_type
from lambda_responses import response_json

from testkit.fuzz_strategies import upload_event, upload_outcome, upload_requests

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

FUZZ_SETTINGS = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


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
        response = invoke("UploadFunction", upload_event(template, request))
        outcome = upload_outcome(response)
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
        ImageOptions.from_strings(stored["Metadata"])  # what processing will read back is valid

    check()
