"""ProcessFunction under faults, over moto: duplicate and racing deliveries, a crash between writes,
S3 throttling, server errors, timeouts and cut connections, and what Lambda keeps after its retries.

Invariants checked after every fault: a manifest that says `done` names only variants that are in place
(the manifest is written last); a transient fault makes the handler raise, so Lambda retries, and never
writes `failed`; the retry ends in exactly the objects a clean run writes, byte for byte.

S3 faults are injected below the client (botocore's before-send event), so the client's own retries
(standard mode, 3 attempts) see them as they would a real 503 or timeout; the retry sleeps are skipped."""

import hashlib
import importlib.util
import io
import json
import threading
import types
from pathlib import Path
from unittest import mock
from urllib.parse import quote_plus

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ReadTimeoutError
from imageservice.aws import s3_client
from imageservice.keys import image_prefix, manifest_key, new_image_id, upload_key
from imageservice.manifest import DONE, FAILED, PENDING, Manifest
from lambda_responses import response_json
from moto.core.botocore_stubber import BotocoreStubber
from processing import render

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ATTEMPTS = 3  # botocore's standard retry mode: one call and two retries


# ------------------------------------------------------------------------------------------ helpers

@pytest.fixture(autouse=True)
def no_retry_sleep(monkeypatch):
    """botocore backs off between its retries; the faults here need no real waiting."""
    sleeps = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps


@pytest.fixture
def original(s3, config, photo):
    """Store an original as an upload would, returning (image id, bytes, metadata)."""
    def store(data: bytes | None = None, metadata: dict | None = None):
        image_id = new_image_id()
        data = photo("JPEG", 1280, 960) if data is None else data
        metadata = {"format": "webp", "filters": ""} if metadata is None else metadata
        s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=data, Metadata=metadata)
        return image_id, data, metadata
    return store


@pytest.fixture
def s3_event(load_event, stack):
    def make(image_id: str) -> dict:
        event = load_event("process_put.json")
        event["Records"][0]["s3"]["object"]["key"] = quote_plus(upload_key(image_id))
        event["Records"][0]["s3"]["bucket"]["name"] = stack.bucket_name("StoredImagesBucket")
        return event
    return make


def expected_objects(config, image_id: str, data: bytes, metadata: dict) -> dict[str, bytes]:
    """Every object a clean run writes for this original: the variants and the manifest, byte for byte."""
    manifest, variants = render(image_id, data, metadata, config, hashlib.md5(data).hexdigest())
    objects = {entry.key: variant.data for entry, variant in zip(manifest.variants, variants, strict=True)}
    objects[manifest_key(image_id)] = manifest.to_json()
    return objects


def processed_objects(s3, config, image_id: str) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix=image_prefix(image_id))
    return {item["Key"]: s3.get_object(Bucket=config.processed_images_bucket, Key=item["Key"])["Body"].read()
            for item in listing.get("Contents", [])}


def assert_consistent(s3, config, image_id: str) -> Manifest | None:
    """The manifest invariant: `done` only with every variant in place; returns the outcome, if any
    (processing's `pending` claim is none)."""
    objects = processed_objects(s3, config, image_id)
    raw = objects.get(manifest_key(image_id))
    if raw is None:
        return None
    manifest = Manifest.from_json(raw)
    if manifest.status == PENDING:
        return None
    assert manifest.status in (DONE, FAILED)
    for variant in manifest.variants:
        assert variant.key in objects, f"manifest names {variant.key}, which is not there"
        assert len(objects[variant.key]) == variant.bytes
    return manifest


def assert_done_exactly(s3, config, image_id, data, metadata):
    assert processed_objects(s3, config, image_id) == expected_objects(config, image_id, data, metadata)
    assert assert_consistent(s3, config, image_id).status == DONE


class _RawBody(io.BytesIO):
    def stream(self, **_):
        while chunk := self.read(8192):
            yield chunk


def s3_error(status: int, code: str, message: str):
    """A fault as S3 answers it: the status and the XML error document."""
    def respond(request):
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>FAULT</RequestId></Error>").encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _RawBody(body))
    return respond


def raises(error_factory):
    def respond(request):
        raise error_factory(request.url)
    return respond


FAULTS = {
    "SlowDown 503": s3_error(503, "SlowDown", "Please reduce your request rate."),
    "InternalError 500": s3_error(500, "InternalError", "We encountered an internal error. Please try again."),
    "ReadTimeoutError": raises(lambda url: ReadTimeoutError(endpoint_url=url)),
    "EndpointConnectionError": raises(lambda url: EndpointConnectionError(endpoint_url=url)),
}


_moto_send = BotocoreStubber.__call__


def _moto_send_unless_faulted(self, event_name, request, **kwargs):
    # botocore offers before-send to every handler and keeps the first answer; moto's handler must not also
    # carry out a request that a fault answered, or a "failed" PutObject would still store the object.
    if getattr(request, "fault_injected", False):
        return None
    return _moto_send(self, event_name, request, **kwargs)


class S3Faults:
    """Faults for chosen S3 operations of the function's client, answered before moto sees the request."""

    def __init__(self, client):
        self.client = client
        self.plans: dict[str, list] = {}
        self.attempts: dict[str, int] = {}
        self._moto = mock.patch.object(BotocoreStubber, "__call__", _moto_send_unless_faulted)
        self._moto.start()
        # A handler for "before-send.s3" runs before moto's catch-all "before-send" one.
        client.meta.events.register_first("before-send.s3", self._before_send)

    def fail(self, operation: str, respond, times: int | None = None, key_contains: str = "",
             header: str = "") -> None:
        """Answer `operation` with `respond` for the next `times` matching attempts (None: until cleared);
        with `header`, only requests that carry it (e.g. If-Match) match."""
        self.plans[operation] = [respond, times, key_contains, header]

    def clear(self) -> None:
        self.plans.clear()

    def close(self) -> None:
        self.client.meta.events.unregister("before-send.s3", self._before_send)
        self._moto.stop()

    def _before_send(self, request, **kwargs):
        operation = kwargs["event_name"].rsplit(".", 1)[-1]
        plan = self.plans.get(operation)
        if plan is None or plan[2] not in request.url or (plan[3] and plan[3] not in request.headers):
            return None
        self.attempts[operation] = self.attempts.get(operation, 0) + 1
        respond, times, _, _ = plan
        if times is not None:
            if times <= 0:
                return None
            plan[1] = times - 1
        request.fault_injected = True
        return respond(request)


@pytest.fixture
def faults(s3):
    injector = S3Faults(s3_client())
    yield injector
    injector.close()


# ------------------------------------------------------------------------------------- idempotency

def test_the_same_event_twice_ends_in_one_correct_result(invoke, s3, config, original, s3_event):
    image_id, data, metadata = original(metadata={"format": "original", "filters": "sepia"})
    invoke("ProcessFunction", s3_event(image_id))
    first = processed_objects(s3, config, image_id)
    invoke("ProcessFunction", s3_event(image_id))
    assert processed_objects(s3, config, image_id) == first
    assert_done_exactly(s3, config, image_id, data, metadata)


def test_two_racing_deliveries_end_in_one_correct_result(s3, config, stack, original, s3_event):
    """Two execution environments handle the same event at once; both render before either writes."""
    from devstack.iam import acting_as
    from devstack.lambda_.functions import LambdaContext, load_handler

    image_id, data, metadata = original()
    function = stack.functions["ProcessFunction"]
    handlers = [load_handler(function, instance=0), load_handler(function, instance=1)]
    both_rendered = threading.Barrier(2, timeout=30)

    def rendered_then_wait(*args):
        result = render(*args)
        both_rendered.wait()
        return result

    errors = []

    def deliver(handler):
        try:
            with acting_as("ProcessFunction"):
                handler(s3_event(image_id), LambdaContext(function, new_image_id()))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    # S3 applies each request atomically; in-process moto does not (two PUTs of one key at once can break
    # it), so its requests are taken one at a time. The two deliveries still interleave request by request.
    one_request_at_a_time = threading.Lock()

    def atomic_moto(self, *args, **kwargs):
        with one_request_at_a_time:
            return _moto_send(self, *args, **kwargs)

    with mock.patch("processing.render", side_effect=rendered_then_wait), \
            mock.patch.object(BotocoreStubber, "__call__", atomic_moto):
        threads = [threading.Thread(target=deliver, args=(handler,)) for handler in handlers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    assert_done_exactly(s3, config, image_id, data, metadata)


# ------------------------------------------------------------------------------ a crash between writes

@pytest.mark.parametrize("failing_write", [1, 2, 3, 4, 5])  # the 1st write is the claim, the 5th the outcome
def test_a_crash_between_writes_is_finished_by_the_retry(invoke, s3, config, original, s3_event, invoke_presign,
                                                          failing_write):
    image_id, data, metadata = original()
    client = s3_client()
    real_put = client.put_object
    writes = []

    def crash_once(**kwargs):
        writes.append(kwargs["Key"])
        if len(writes) == failing_write:
            raise RuntimeError("the execution environment stopped here")
        return real_put(**kwargs)

    with mock.patch.object(client, "put_object", side_effect=crash_once), pytest.raises(RuntimeError):
        invoke("ProcessFunction", s3_event(image_id))
    assert assert_consistent(s3, config, image_id) is None  # no outcome: the image still reads as pending
    assert len(processed_objects(s3, config, image_id)) == failing_write - 1
    assert invoke_presign(image_id)["statusCode"] == 202

    invoke("ProcessFunction", s3_event(image_id))  # Lambda's retry
    assert_done_exactly(s3, config, image_id, data, metadata)
    assert invoke_presign(image_id)["statusCode"] == 200


@pytest.fixture
def invoke_presign(invoke, load_event, http_event):
    def get(image_id: str) -> dict:
        event = http_event(load_event("presign_get_image.json"), path=f"/api/images/{image_id}",
                           path_parameters={"id": image_id}, query={})
        return invoke("PresignFunction", event)
    return get


# -------------------------------------------------------------------------------- transient S3 faults

@pytest.mark.parametrize("operation", ["GetObject", "PutObject"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_lasting_s3_fault_raises_for_lambda_to_retry_and_writes_no_outcome(
        invoke, s3, config, original, s3_event, faults, operation, fault):
    image_id, data, metadata = original()
    faults.fail(operation, FAULTS[fault], key_contains=image_id)
    with pytest.raises((ClientError, BotoCoreError)):
        invoke("ProcessFunction", s3_event(image_id))
    assert faults.attempts[operation] == CLIENT_ATTEMPTS  # the client retried, then gave up
    assert assert_consistent(s3, config, image_id) is None  # neither `done` nor `failed`

    faults.clear()
    invoke("ProcessFunction", s3_event(image_id))  # Lambda's retry, once S3 is back
    assert_done_exactly(s3, config, image_id, data, metadata)


@pytest.mark.parametrize("operation", ["GetObject", "PutObject"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_passing_s3_fault_is_absorbed_by_the_client_retries(invoke, s3, config, original, s3_event, faults,
                                                               no_retry_sleep, operation, fault):
    image_id, data, metadata = original()
    faults.fail(operation, FAULTS[fault], times=1, key_contains=image_id)
    invoke("ProcessFunction", s3_event(image_id))
    assert faults.attempts[operation] >= 2 and no_retry_sleep  # failed once, backed off, succeeded
    assert_done_exactly(s3, config, image_id, data, metadata)


def test_a_put_fault_after_some_variants_leaves_no_manifest(invoke, s3, config, original, s3_event, faults):
    image_id, data, metadata = original()
    faults.fail("PutObject", FAULTS["SlowDown 503"], key_contains="medium")
    with pytest.raises(ClientError):
        invoke("ProcessFunction", s3_event(image_id))
    assert sorted(processed_objects(s3, config, image_id)) == [f"{image_prefix(image_id)}large.webp",
                                                               manifest_key(image_id)]  # and the claim
    assert assert_consistent(s3, config, image_id) is None
    faults.clear()
    invoke("ProcessFunction", s3_event(image_id))
    assert_done_exactly(s3, config, image_id, data, metadata)


def test_a_connection_cut_while_reading_the_original_is_not_a_corrupt_image(invoke, s3, config, original,
                                                                             s3_event, faults):
    """The original arrives short of its Content-Length: the read must fail, not hand half an image to the
    decoder, which would record a permanent `failed` (corrupt_image) for a passing network fault."""
    image_id, data, metadata = original()
    headers = {"Content-Type": "image/jpeg", "Content-Length": str(len(data)), "ETag": '"x"',
               **{f"x-amz-meta-{name}": value for name, value in metadata.items()}}
    faults.fail("GetObject", lambda request: AWSResponse(request.url, 200, headers, _RawBody(data[: len(data) // 2])),
                key_contains=image_id)
    with pytest.raises(BotoCoreError):
        invoke("ProcessFunction", s3_event(image_id))
    assert assert_consistent(s3, config, image_id) is None
    faults.clear()
    invoke("ProcessFunction", s3_event(image_id))
    assert_done_exactly(s3, config, image_id, data, metadata)


def test_a_bad_image_still_ends_failed_once(invoke, s3, config, original, s3_event, photo):
    """The other side of the line: a permanent problem is recorded once as `failed`, and never raised."""
    image_id, data, metadata = original(photo()[:700])
    invoke("ProcessFunction", s3_event(image_id))
    invoke("ProcessFunction", s3_event(image_id))
    manifest = assert_consistent(s3, config, image_id)
    assert manifest.status == FAILED and manifest.error.code == "corrupt_image"
    assert list(processed_objects(s3, config, image_id)) == [manifest_key(image_id)]


# ------------------------------------------------------- conditional writes: 409 is a retry, 412 a loss

CONFLICT = s3_error(409, "ConditionalRequestConflict",
                    "A conflicting conditional operation is currently in progress against this resource.")


@pytest.fixture
def no_conflict_backoff(monkeypatch):
    from imageservice import records
    monkeypatch.setattr(records, "CONFLICT_BACKOFF_SECONDS", 0)
    return records


@pytest.mark.parametrize("other_write", ["lands before the retry", "lands after the 409"])
def test_a_409_on_the_outcome_is_retried_and_never_removes_the_variants(
        invoke, s3, config, original, s3_event, faults, no_conflict_backoff, other_write):
    """Two deliveries of one original write their outcome at once: S3 answers one of them 409. That one
    must retry, not read the still-pending claim as a DELETE and remove the variants the other names."""
    image_id, data, metadata = original()
    outcome = expected_objects(config, image_id, data, metadata)[manifest_key(image_id)]
    claim = {}

    def other_delivery_writes_its_outcome():
        try:
            s3.put_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id), Body=outcome,
                          ContentType="application/json", IfMatch=claim["etag"])
        except ClientError as error:  # the other delivery lost: it reads the outcome and stops
            assert error.response["Error"]["Code"] == "PreconditionFailed"

    def conflict(request):
        claim["etag"] = s3.head_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id))["ETag"]
        if other_write == "lands before the retry":
            other_delivery_writes_its_outcome()
        return CONFLICT(request)

    faults.fail("PutObject", conflict, times=1, key_contains="manifest.json", header="If-Match")
    invoke("ProcessFunction", s3_event(image_id))
    if other_write == "lands after the 409":
        other_delivery_writes_its_outcome()
    assert faults.attempts["PutObject"] == 2  # the 409, then the retry
    assert_done_exactly(s3, config, image_id, data, metadata)


def test_a_lasting_409_raises_for_lambda_to_retry_and_keeps_the_variants(
        invoke, s3, config, original, s3_event, faults, no_conflict_backoff):
    image_id, data, metadata = original()
    faults.fail("PutObject", CONFLICT, key_contains="manifest.json", header="If-Match")
    with pytest.raises(ClientError) as raised:
        invoke("ProcessFunction", s3_event(image_id))
    assert raised.value.response["Error"]["Code"] == "ConditionalRequestConflict"
    assert faults.attempts["PutObject"] == no_conflict_backoff.CONFLICT_ATTEMPTS
    assert assert_consistent(s3, config, image_id) is None  # still pending, and nothing removed:
    assert len(processed_objects(s3, config, image_id)) == len(expected_objects(config, image_id, data, metadata))
    faults.clear()
    invoke("ProcessFunction", s3_event(image_id))  # Lambda's retry
    assert_done_exactly(s3, config, image_id, data, metadata)


def test_a_409_on_the_claim_is_retried(invoke, s3, config, original, s3_event, faults, no_conflict_backoff):
    image_id, data, metadata = original()
    faults.fail("PutObject", CONFLICT, times=1, key_contains="manifest.json", header="If-None-Match")
    invoke("ProcessFunction", s3_event(image_id))
    assert faults.attempts["PutObject"] == 2
    assert_done_exactly(s3, config, image_id, data, metadata)


def test_a_412_on_the_outcome_is_a_delete_that_came_first_and_removes_the_variants(
        invoke, s3, config, original, s3_event, faults):
    image_id, _, _ = original()

    def deleted_meanwhile(request):
        s3.put_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id),
                      Body=Manifest.deleted(image_id).to_json(), ContentType="application/json")
        return s3_error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")(
            request)

    faults.fail("PutObject", deleted_meanwhile, times=1, key_contains="manifest.json", header="If-Match")
    invoke("ProcessFunction", s3_event(image_id))
    assert list(processed_objects(s3, config, image_id)) == [manifest_key(image_id)]
    raw = s3.get_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id))["Body"].read()
    assert Manifest.from_json(raw).status == "deleted"


# --------------------------------------------------------------- after Lambda's retries: the destination

def load_replay_script():
    spec = importlib.util.spec_from_file_location("replay_failures", ROOT / "scripts" / "replay_failures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_failure_record(stack, event: dict, error: BaseException, attempts: int) -> dict:
    """What Lambda sends to an asynchronous invocation's on-failure destination (documented format)."""
    function = stack.functions["ProcessFunction"]
    return {
        "version": "1.0",
        "timestamp": "2026-11-25T14:30:00.000Z",
        "requestContext": {
            "requestId": new_image_id(),
            "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{function.logical_id}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__,
                            "requestId": "", "stackTrace": []},
    }


def test_after_the_retry_budget_the_destination_record_replays_the_job(invoke, s3, config, stack, original,
                                                                       s3_event, faults, capsys):
    image_id, data, metadata = original()
    event = s3_event(image_id)
    retries = stack.functions["ProcessFunction"].max_retries
    assert retries == 2  # MaximumRetryAttempts in template.yaml

    faults.fail("GetObject", FAULTS["SlowDown 503"], key_contains=image_id)  # S3 stays throttled for a while
    errors = []
    for _ in range(1 + retries):  # the first invocation and Lambda's retries
        with pytest.raises(ClientError) as raised:
            invoke("ProcessFunction", event)
        errors.append(raised.value)
        assert assert_consistent(s3, config, image_id) is None
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="ProcessFailureQueue")["QueueUrl"]
    record = on_failure_record(stack, event, errors[-1], attempts=len(errors))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))

    faults.clear()  # later, S3 answers again and someone replays the queue
    replayed = []

    class LocalLambda:
        """Lambda's Event invocation, carried out here and now."""

        def invoke(self, FunctionName, InvocationType, Payload):  # noqa: N803 - boto3's spelling
            assert InvocationType == "Event" and FunctionName.endswith(":function:ProcessFunction:$LATEST")
            replayed.append(json.loads(Payload))
            invoke("ProcessFunction", json.loads(Payload))
            return {"StatusCode": 202}

    summary = load_replay_script().replay(sqs, LocalLambda(), queue_url)
    assert (summary.replayed, summary.malformed, summary.failed) == (1, 0, 0)
    assert replayed == [event]
    assert_done_exactly(s3, config, image_id, data, metadata)
    assert "SlowDown" in capsys.readouterr().out  # the listing says why it had failed
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_the_failure_is_visible_while_it_lasts(invoke, s3, original, s3_event, faults, invoke_presign):
    """While S3 keeps failing, the image reads pending (202), not done and not failed."""
    image_id, _, _ = original()
    faults.fail("GetObject", FAULTS["InternalError 500"], key_contains=image_id)
    with pytest.raises(ClientError):
        invoke("ProcessFunction", s3_event(image_id))
    faults.clear()
    response = invoke_presign(image_id)
    assert response["statusCode"] == 202 and response_json(response)["status"] == "pending"
