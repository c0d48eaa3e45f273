"""ProcessFunction over moto: S3 events in, variants and a manifest out."""

import ctypes
import inspect
import io
import json
import sys
import time
import uuid
from unittest import mock

import numpy as np
import pytest
from botocore.exceptions import ClientError
from imageservice.keys import manifest_key, new_image_id, status_key, upload_key, variant_key
from PIL import Image

from devstack.lambda_.functions import LambdaContext, load_handler
from testkit.fuzz_strategies import gif_with_offset_frames

SAMPLE_ID = "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90"


def read_manifest(s3, config, image_id):
    return json.loads(s3.get_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id))["Body"].read())


def store(s3, config, image_id, data, metadata=None):
    s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=data, Metadata=metadata or {})


def test_sample_put_event_produces_variants_then_manifest(invoke, load_event, s3, config, photo):
    store(s3, config, SAMPLE_ID, photo("JPEG", 3000, 2000), {"format": "webp", "quality": "70", "filters": ""})
    invoke("ProcessFunction", load_event("process_put.json"))
    manifest = read_manifest(s3, config, SAMPLE_ID)
    assert manifest["status"] == "done"
    assert manifest["original"] == {"width": 3000, "height": 2000, "format": "jpeg",
                                    "bytes": manifest["original"]["bytes"]}
    sizes = {v["name"]: (v["width"], v["height"]) for v in manifest["variants"]}
    assert sizes == {"large": (2048, 1365), "medium": (1024, 683), "thumb": (256, 171)}
    for variant in manifest["variants"]:
        assert variant["key"] == variant_key(SAMPLE_ID, variant["name"], "webp")
        stored = s3.get_object(Bucket=config.processed_images_bucket, Key=variant["key"])
        assert stored["ContentType"] == "image/webp"
        assert stored["ContentDisposition"].startswith("inline; filename=")
        data = stored["Body"].read()
        assert len(data) == variant["bytes"]
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "WEBP" and image.size == sizes[variant["name"]]


def test_key_outside_the_layout_is_ignored(invoke, load_event, s3, config, photo):
    s3.put_object(Bucket=config.stored_images_bucket, Key="uploads/holiday photo (1).jpg", Body=photo())
    invoke("ProcessFunction", load_event("process_key_with_spaces.json"))
    assert s3.list_objects_v2(Bucket=config.processed_images_bucket)["KeyCount"] == 0


def test_moto_style_record_with_encoded_slash_and_no_optional_fields(invoke, load_event, s3, config, photo):
    image_id = new_image_id()
    store(s3, config, image_id, photo())
    event = load_event("process_put.json")
    record = event["Records"][0]
    record["s3"]["object"] = {"key": f"uploads%2F{image_id}", "size": 1}
    for optional in ("userIdentity", "requestParameters", "responseElements"):
        del record[optional]
    invoke("ProcessFunction", event)
    assert read_manifest(s3, config, image_id)["status"] == "done"


def test_the_same_event_twice_gives_the_same_result(invoke, load_event, s3, config, photo):
    store(s3, config, SAMPLE_ID, photo("PNG", 900, 700))
    invoke("ProcessFunction", load_event("process_put.json"))
    first = {item["Key"]: s3.get_object(Bucket=config.processed_images_bucket, Key=item["Key"])["Body"].read()
             for item in s3.list_objects_v2(Bucket=config.processed_images_bucket)["Contents"]}
    invoke("ProcessFunction", load_event("process_put.json"))
    second = {item["Key"]: s3.get_object(Bucket=config.processed_images_bucket, Key=item["Key"])["Body"].read()
              for item in s3.list_objects_v2(Bucket=config.processed_images_bucket)["Contents"]}
    assert first == second
    # 900 × 700 is under medium's edge too: large and medium are one image, stored once; and the status object.
    assert len(first) == 4 and first[status_key(SAMPLE_ID)] == b'{"status":"done"}'


def test_a_variant_that_repeats_a_larger_one_is_stored_once(invoke, load_event, s3, config, photo):
    """Smaller than medium's edge: large and medium come out the same, so large lists medium as an alias."""
    store(s3, config, SAMPLE_ID, photo("JPEG", 800, 600))
    invoke("ProcessFunction", load_event("process_put.json"))
    manifest = read_manifest(s3, config, SAMPLE_ID)
    entries = {v["name"]: v for v in manifest["variants"]}
    assert set(entries) == {"large", "thumb"}
    assert entries["large"]["aliases"] == ["medium"]
    assert (entries["large"]["width"], entries["large"]["height"]) == (800, 600)
    assert "aliases" not in entries["thumb"]
    keys = {item["Key"] for item in s3.list_objects_v2(Bucket=config.processed_images_bucket)["Contents"]}
    assert keys == {entries["large"]["key"], entries["thumb"]["key"], manifest_key(SAMPLE_ID), status_key(SAMPLE_ID)}


def test_the_original_file_name_is_kept_sanitised_in_the_manifest(invoke, load_event, s3, config, photo):
    store(s3, config, SAMPLE_ID, photo(), {"format": "original", "filters": "",
                                           "original-name": "..%2F..%2Fsecret%0A%22holiday%22%20%C3%A9t%C3%A9"})
    invoke("ProcessFunction", load_event("process_put.json"))
    manifest = read_manifest(s3, config, SAMPLE_ID)
    assert manifest["status"] == "done"
    assert manifest["original"]["name"] == "secret_holiday_ été"
    assert all("secret" not in v["key"] for v in manifest["variants"])


@pytest.mark.parametrize("make, code", [
    (lambda photo: photo()[:500], "corrupt_image"),
    (lambda photo: b"this is not an image at all", "unsupported_image"),
    (lambda photo: b"<svg xmlns='http://www.w3.org/2000/svg'/>", "unsupported_image"),
])
def test_bad_originals_end_failed_without_raising(invoke, load_event, s3, config, photo, make, code):
    store(s3, config, SAMPLE_ID, make(photo))
    invoke("ProcessFunction", load_event("process_put.json"))
    manifest = read_manifest(s3, config, SAMPLE_ID)
    assert manifest["status"] == "failed"
    assert manifest["error"]["code"] == code and manifest["error"]["message"]


def test_over_the_pixel_limit_fails_before_decoding(invoke, load_event, s3, config, photo, function_env):
    function_env({"MAX_PIXELS": "100000"})
    store(s3, config, SAMPLE_ID, photo("PNG", 400, 300))
    with mock.patch("PIL.ImageFile.ImageFile.load", side_effect=AssertionError("decoded")):
        invoke("ProcessFunction", load_event("process_put.json"))
    manifest = read_manifest(s3, config, SAMPLE_ID)
    assert manifest["error"]["code"] == "image_too_large"


def test_tampered_options_in_metadata_end_failed(invoke, load_event, s3, config, photo):
    store(s3, config, SAMPLE_ID, photo(), {"format": "exe"})
    invoke("ProcessFunction", load_event("process_put.json"))
    assert read_manifest(s3, config, SAMPLE_ID)["error"]["code"] == "invalid_option"


def test_original_deleted_before_processing_is_nothing_to_do(invoke, load_event, s3, config):
    invoke("ProcessFunction", load_event("process_put.json"))
    assert s3.list_objects_v2(Bucket=config.processed_images_bucket)["KeyCount"] == 0


def test_transient_storage_errors_raise_so_lambda_retries(invoke, load_event, s3, config, photo):
    store(s3, config, SAMPLE_ID, photo())
    from imageservice.aws import s3_client

    client = s3_client()
    throttled = ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}},
                            "PutObject")
    with mock.patch.object(client, "put_object", side_effect=throttled), pytest.raises(ClientError):
        invoke("ProcessFunction", load_event("process_put.json"))
    assert s3.list_objects_v2(Bucket=config.processed_images_bucket)["KeyCount"] == 0
    invoke("ProcessFunction", load_event("process_put.json"))  # the retry finishes the job
    assert read_manifest(s3, config, SAMPLE_ID)["status"] == "done"


class _ContextWithTimeLeft(LambdaContext):
    """A ProcessFunction context whose invocation has only `seconds` left."""

    def __init__(self, function, seconds: float):
        super().__init__(function, str(uuid.uuid4()))
        self.ends = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.ends - time.monotonic()) * 1000))


@pytest.fixture
def invoke_with(s3, stack):
    """Call ProcessFunction's handler with a context that has `seconds` more than the handler's margin left."""
    function = stack.functions["ProcessFunction"]
    handler = load_handler(function)
    margin = sys.modules[inspect.unwrap(handler).__module__].DEADLINE_MARGIN_SECONDS
    return lambda event, seconds: handler(event, _ContextWithTimeLeft(function, margin + seconds))


def _flat_frames_gif(count: int, size: tuple[int, int]) -> bytes:
    frames = [Image.new("L", size, i * 37 % 256).convert("P") for i in range(count)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=40)
    return buffer.getvalue()


def test_a_gif_growing_its_canvas_past_the_limit_fails_fast_without_raising(invoke, load_event, s3, config):
    store(s3, config, SAMPLE_ID, gif_with_offset_frames(300, header=(100, 100), at=(6999, 6999)))
    started = time.monotonic()
    invoke("ProcessFunction", load_event("process_put.json"))
    assert time.monotonic() - started < 10
    manifest = read_manifest(s3, config, SAMPLE_ID)
    assert manifest["status"] == "failed" and manifest["error"]["code"] == "image_too_large"


def test_a_job_longer_than_the_time_left_fails_before_work_without_raising(invoke_with, load_event, s3, config):
    store(s3, config, SAMPLE_ID, _flat_frames_gif(60, (1000, 1000)), {"format": "webp", "quality": "100"})
    with mock.patch("imaging.animation.frames", side_effect=AssertionError("a frame was decoded")):
        invoke_with(load_event("process_put.json"), 3)
    manifest = read_manifest(s3, config, SAMPLE_ID)
    assert manifest["status"] == "failed" and manifest["error"]["code"] == "image_too_complex"
    listing = s3.list_objects_v2(Bucket=config.processed_images_bucket)["Contents"]
    assert {item["Key"] for item in listing} == {manifest_key(SAMPLE_ID), status_key(SAMPLE_ID)}  # no variant


def test_an_invocation_out_of_time_writes_processing_timeout_without_raising(invoke_with, load_event, s3, config,
                                                                              photo):
    store(s3, config, SAMPLE_ID, photo())
    invoke_with(load_event("process_put.json"), -1)
    manifest = read_manifest(s3, config, SAMPLE_ID)
    assert manifest["status"] == "failed" and manifest["error"]["code"] == "processing_timeout"


def _spinning_decoder(*args, **kwargs):
    while True:
        pass


def _allocating_decoder(*args, **kwargs):
    kept = []  # address space without resident memory: numpy leaves the pages untouched
    while True:
        kept.append(np.empty(64 * 1024 * 1024, np.uint8))


def _crashing_decoder(*args, **kwargs):
    ctypes.string_at(0)  # SIGSEGV


@pytest.mark.parametrize("decoder, code", [
    (_spinning_decoder, "processing_timeout"),
    (_allocating_decoder, "image_too_complex"),
    (_crashing_decoder, "corrupt_image"),
], ids=["spins", "allocates", "crashes"])
def test_a_decoder_that_spins_allocates_or_crashes_fails_in_its_invocation(
        decoder, code, invoke_with, process, load_event, s3, config, photo, function_env):
    function_env({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512"})  # the child may add 384 MB
    store(s3, config, SAMPLE_ID, photo())
    started = time.monotonic()
    with mock.patch("imaging.decode.read", side_effect=decoder):
        invoke_with(load_event("process_put.json"), 3)  # no exception: Lambda does not retry
    assert time.monotonic() - started < 3 + 3  # the deadline is 3 s away; storage calls and a loaded machine
    manifest = read_manifest(s3, config, SAMPLE_ID)
    assert manifest["status"] == "failed" and manifest["error"]["code"] == code, manifest
    # The same warm process takes the next upload as if nothing had happened.
    next_id = new_image_id()
    store(s3, config, next_id, photo())
    process(next_id)
    assert read_manifest(s3, config, next_id)["status"] == "done"
