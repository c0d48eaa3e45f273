"""The storage side of the local stack: curl as the README shows it, the buckets' CORS, the pre-signed
URLs and POST policies the handlers generate, S3 events (concurrent, duplicated, failing)."""

import base64
import json
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig
from PIL import Image

from devstack.cfn.template import local_resource_name
from devstack.provision import trigger_queue_name

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stored_bucket(stack_resources) -> str:
    return stack_resources.bucket_name("StoredImagesBucket")


@pytest.fixture(scope="module")
def processed_bucket(stack_resources) -> str:
    return stack_resources.bucket_name("ProcessedImagesBucket")


@pytest.fixture(scope="module")
def url_expires_seconds(stack_resources) -> int:
    return int(stack_resources.parameters["UrlExpiresSeconds"])


# ------------------------------------------------------------------------------ curl, as the README shows it
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_upload_and_download(base_url, tmp_path, photo, wait_done):
    (tmp_path / "photo.jpg").write_bytes(photo(1024, 768, seed=21))
    upload = subprocess.run(
        ["curl", "-sS", "-F", "file=@photo.jpg", f"{base_url}/api/images"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    image_id = json.loads(upload.stdout)["id"]
    image = wait_done(image_id)
    assert image["status"] == "done"
    subprocess.run(
        ["curl", "-sSL", "-o", "out.jpg", f"{base_url}/api/images/{image_id}/thumb"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=True,
    )
    thumb = Image.open(tmp_path / "out.jpg")
    assert thumb.format == "JPEG"
    assert thumb.size == (256, 192)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_presigned_post(http, base_url, tmp_path, noisy_jpeg, wait_done, direct_upload_max_bytes):
    """The README's large-file path: every field of upload.fields with -F, the file last."""
    (tmp_path / "big.jpg").write_bytes(noisy_jpeg(direct_upload_max_bytes + 10_000, seed=22))
    ticket = http.post(f"{base_url}/api/uploads", json={"content_type": "image/jpeg"}, timeout=30).json()
    form = [arg for name, value in ticket["upload"]["fields"].items() for arg in ("-F", f"{name}={value}")]
    subprocess.run(
        ["curl", "-sS", "--fail", *form, "-F", "file=@big.jpg", ticket["upload"]["url"]],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert wait_done(ticket["id"])["status"] == "done"


# ------------------------------------------------------------------------------ CORS of the buckets
def _preflight(local_stack, bucket: str, origin: str, method: str = "POST", request_headers: str = "content-type"):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return requests.options(f"{local_stack.storage_url}/{bucket}", timeout=10, headers=headers)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_cors_preflight_from_the_page_is_allowed(local_stack, stored_bucket, host):
    """The page's two names, as a deployed site has its distribution's and its custom domain's."""
    origin = f"http://{host}:{local_stack.port}"
    answer = _preflight(local_stack, stored_bucket, origin)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize(
    "origin",
    ["http://evil.example", "http://127.0.0.1:1", "https://127.0.0.1:{port}", "http://127.0.0.1:{port}.evil.example",
     "http://localhost:1", "https://localhost:{port}"],
)
def test_cors_preflight_from_another_origin_is_refused(local_stack, stored_bucket, origin):
    answer = _preflight(local_stack, stored_bucket, origin.format(port=local_stack.port))
    assert answer.status_code == 403
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_processed_bucket_lets_only_the_page_read_cross_origin(local_stack, processed_bucket):
    """The page reads variants to zip them; no other origin may, and the page may not write."""
    # A fetch() of a pre-signed URL sends no request headers to allow; the rule allows none (as S3 checks).
    answer = _preflight(local_stack, processed_bucket, local_stack.url, method="GET", request_headers="")
    assert answer.headers["Access-Control-Allow-Origin"] == local_stack.url
    assert "GET" in answer.headers["Access-Control-Allow-Methods"]
    other = _preflight(local_stack, processed_bucket, "https://elsewhere.example", method="GET", request_headers="")
    assert "Access-Control-Allow-Origin" not in other.headers
    write = _preflight(local_stack, processed_bucket, local_stack.url, method="PUT", request_headers="")
    assert "Access-Control-Allow-Origin" not in write.headers


def test_browser_upload_can_read_the_answer(http, base_url, local_stack, photo, wait_done):
    """A browser's cross-origin POST needs Access-Control-Allow-Origin on the answer too, as S3 sends it."""
    ticket = http.post(f"{base_url}/api/uploads", json={"content_type": "image/jpeg"}, timeout=30).json()
    answer = requests.post(
        ticket["upload"]["url"],
        data=ticket["upload"]["fields"],
        timeout=30,
        files={"file": ("photo.jpg", photo(seed=23), "image/jpeg")},
        headers={"Origin": local_stack.url},
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == local_stack.url
    assert wait_done(ticket["id"])["status"] == "done"


# ------------------------------------------------------------------------------ what the handlers sign
def test_presigned_get_urls(http, base_url, local_stack, photo, wait_done, processed_bucket, url_expires_seconds):
    image_id = http.post(f"{base_url}/api/images", data=photo(seed=24), timeout=30).json()["id"]
    image = wait_done(image_id)
    for variant in image["variants"]:
        url = urlsplit(variant["url"])
        assert (url.scheme, url.netloc) == ("http", f"127.0.0.1:{local_stack.storage_port}")
        assert url.path.startswith(f"/{processed_bucket}/images/{image_id}/{variant['name']}.")  # path-style
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        assert query["X-Amz-Expires"] == str(url_expires_seconds)
        assert query["X-Amz-SignedHeaders"] == "host"
        signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        assert abs(datetime.now(UTC) - signed_at) < timedelta(minutes=2)
    assert image["expires_in"] == url_expires_seconds


@pytest.mark.parametrize("content_type", ["image/jpeg", None])
def test_presigned_post_policy(
    http, base_url, local_stack, stack_resources, stored_bucket, url_expires_seconds, content_type
):
    request = {"format": "webp", "quality": 70, "filters": ["sharpen"]}
    if content_type:
        request["content_type"] = content_type
    ticket = http.post(f"{base_url}/api/uploads", json=request, timeout=30).json()
    upload = ticket["upload"]
    assert upload["url"] == f"{local_stack.storage_url}/{stored_bucket}"  # path-style, on the storage server
    fields = upload["fields"]
    assert fields["key"] == f"uploads/{ticket['id']}"
    policy = json.loads(base64.b64decode(fields["policy"]))
    expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(expiration - (datetime.now(UTC) + timedelta(seconds=url_expires_seconds))) < timedelta(minutes=1)
    conditions = policy["conditions"]
    assert {"bucket": stored_bucket} in conditions
    assert {"key": f"uploads/{ticket['id']}"} in conditions  # pinned: this ticket writes this one key
    assert ["content-length-range", 1, int(stack_resources.parameters["LargeUploadMaxBytes"])] in conditions
    assert ticket["max_bytes"] == int(stack_resources.parameters["LargeUploadMaxBytes"])
    assert ticket["expires_in"] == url_expires_seconds
    if content_type:
        assert {"Content-Type": content_type} in conditions and fields["Content-Type"] == content_type
    else:
        assert ["starts-with", "$Content-Type", "image/"] in conditions
    for name, value in {"format": "webp", "quality": "70", "filters": "sharpen"}.items():
        assert fields[f"x-amz-meta-{name}"] == value
        assert {f"x-amz-meta-{name}": value} in conditions


# ------------------------------------------------------------------------------ what S3 refuses, refused
def _s3_error(answer) -> tuple[int, str]:
    return answer.status_code, re.search(r"<Code>([^<]+)</Code>", answer.text)[1]


@pytest.fixture
def ticket(http, base_url):
    return http.post(f"{base_url}/api/uploads", json={"content_type": "image/jpeg"}, timeout=30).json()


def _post(ticket, photo, fields=None, data=None, content_type="image/jpeg"):
    form = {**ticket["upload"]["fields"], **(fields or {})}
    body = photo(seed=26) if data is None else data
    return requests.post(ticket["upload"]["url"], data=form, files={"file": ("photo.jpg", body, content_type)},
                         timeout=60)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"key": "uploads/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90"}, (403, "AccessDenied")),  # another image's key
        ({"x-amz-meta-extra": "1"}, (403, "AccessDenied")),  # a field the policy does not name
        ({"Content-Type": "text/html"}, (403, "AccessDenied")),
        ({"x-amz-meta-quality": "5"}, (403, "AccessDenied")),
        ({"x-amz-signature": "0" * 64}, (403, "SignatureDoesNotMatch")),
        ({"x-amz-credential": "AKIAUNKNOWN/20260101/us-east-1/s3/aws4_request"}, (403, "InvalidAccessKeyId")),
    ],
    ids=["other-key", "extra-field", "text-html", "changed-option", "bad-signature", "unknown-key"],
)
def test_presigned_post_outside_its_policy_is_refused(ticket, photo, change, expected):
    assert _s3_error(_post(ticket, photo, change)) == expected


def test_tampered_policy_is_refused(ticket, photo):
    policy = json.loads(base64.b64decode(ticket["upload"]["fields"]["policy"]))
    policy["conditions"] = [c for c in policy["conditions"]
                            if not (isinstance(c, list) and c[0] == "content-length-range")]
    tampered = base64.b64encode(json.dumps(policy).encode()).decode()
    assert _s3_error(_post(ticket, photo, {"policy": tampered})) == (403, "SignatureDoesNotMatch")


def test_presigned_post_size_limits(ticket, photo, stack_resources):
    largest = int(stack_resources.parameters["LargeUploadMaxBytes"])
    assert _s3_error(_post(ticket, photo, data=b"")) == (400, "EntityTooSmall")
    assert _s3_error(_post(ticket, photo, data=b"\xff" * (largest + 1))) == (400, "EntityTooLarge")


def test_unsigned_requests_are_refused(local_stack, stored_bucket, processed_bucket):
    for url in (f"{local_stack.storage_url}/{stored_bucket}", f"{local_stack.storage_url}/{processed_bucket}",
                f"{local_stack.storage_url}/{stored_bucket}?list-type=2", f"{local_stack.storage_url}/"):
        assert _s3_error(requests.get(url, timeout=30)) == (403, "AccessDenied"), url
    unsigned_put = requests.put(f"{local_stack.storage_url}/{stored_bucket}/uploads/x", data=b"x", timeout=30)
    assert _s3_error(unsigned_put) == (403, "AccessDenied")


def test_presigned_get_as_signed_only(http, base_url, photo, wait_done):
    image_id = http.post(f"{base_url}/api/images", data=photo(seed=27), timeout=30).json()["id"]
    url = wait_done(image_id)["variants"][0]["url"]
    assert requests.get(url, timeout=30).status_code == 200
    changed_type = requests.get(url + "&response-content-type=text/html", timeout=30)
    assert _s3_error(changed_type) == (403, "SignatureDoesNotMatch")
    other_id = image_id[:-1] + ("1" if image_id.endswith("0") else "0")
    other_path = requests.get(url.replace(f"/{image_id}/", f"/{other_id}/"), timeout=30)
    assert _s3_error(other_path) == (403, "SignatureDoesNotMatch")
    query = parse_qs(urlsplit(url).query)
    backdated = url.replace(f"X-Amz-Date={query['X-Amz-Date'][0]}", "X-Amz-Date=20010101T000000Z")
    assert _s3_error(requests.get(backdated, timeout=30))[0] == 403


def test_expired_presigned_get_is_refused(local_stack, stored_bucket):
    s3 = local_stack.client("s3")
    s3.put_object(Bucket=stored_bucket, Key="expiry-test", Body=b"x")
    s3v4 = boto3.client("s3", endpoint_url=local_stack.storage_url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=BotoConfig(signature_version="s3v4"))
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": stored_bucket, "Key": "expiry-test"}, ExpiresIn=1)
    time.sleep(2.1)
    answer = requests.get(url, timeout=30)
    assert _s3_error(answer) == (403, "AccessDenied")
    assert "Request has expired" in answer.text


# ------------------------------------------------------------------------------ S3 events
def test_concurrent_uploads_all_finish(base_url, photo, wait_done, local_stack, processed_bucket):
    count, threads = 30, 8
    sizes = {index: (300 + index, 200 + index) for index in range(count)}
    images = {index: photo(*sizes[index], seed=100 + index) for index in range(count)}

    def upload(index: int) -> tuple[int, str]:
        answer = requests.post(f"{base_url}/api/images", data=images[index], timeout=60)
        assert answer.status_code == 202, answer.text
        return index, answer.json()["id"]

    with ThreadPoolExecutor(threads) as pool:
        ids = dict(pool.map(upload, range(count)))
        results = dict(zip(ids, pool.map(lambda image_id: wait_done(image_id, timeout=120), ids.values()), strict=True))
    assert len(set(ids.values())) == count, "every upload gets an id of its own"
    s3 = local_stack.client("s3")
    for index, image in results.items():
        assert image["status"] == "done", image
        assert image["id"] == ids[index]
        # The image processed under this id is the one uploaded with it.
        assert (image["original"]["width"], image["original"]["height"]) == sizes[index]
        manifest = json.loads(
            s3.get_object(Bucket=processed_bucket, Key=f"images/{ids[index]}/manifest.json")["Body"].read()
        )
        assert manifest["id"] == ids[index]


def test_duplicate_event_ends_in_one_correct_manifest(
    http, base_url, local_stack, stack_resources, photo, wait_done, s3_event, stored_bucket, processed_bucket
):
    image_id = http.post(f"{base_url}/api/images", data=photo(700, 500, seed=31), timeout=30).json()["id"]
    first = wait_done(image_id)
    assert first["status"] == "done"
    s3, sqs = local_stack.client("s3"), local_stack.client("sqs")
    manifest_key = f"images/{image_id}/manifest.json"
    before = s3.get_object(Bucket=processed_bucket, Key=manifest_key)["Body"].read()
    keys_before = _keys(s3, processed_bucket, f"images/{image_id}/")
    assert len(keys_before) == len(first["variants"]) + 1

    queue = sqs.get_queue_url(QueueName=trigger_queue_name(stack_resources.functions["ProcessFunction"]))["QueueUrl"]
    replay = json.dumps(s3_event(stored_bucket, f"uploads/{image_id}"))
    for _ in range(2):
        sqs.send_message(QueueUrl=queue, MessageBody=replay)
    assert local_stack.wait_for_line(rf"uploads/{image_id} ok", timeout=60, count=3), "both replays processed"

    after = s3.get_object(Bucket=processed_bucket, Key=manifest_key)["Body"].read()
    assert after == before, "a replayed event writes the same manifest"
    assert _keys(s3, processed_bucket, f"images/{image_id}/") == keys_before
    again = http.get(f"{base_url}/api/images/{image_id}", timeout=30).json()
    assert [(v["name"], v["bytes"]) for v in again["variants"]] == [(v["name"], v["bytes"]) for v in first["variants"]]


def test_failing_event_is_retried_then_sent_to_the_failure_queue(local_stack, stack_resources, s3_event):
    """A storage fault (here: an event naming a bucket that does not exist) raises; the invocation is
    retried MaximumRetryAttempts times and then lands in the on-failure queue with the error."""
    function = stack_resources.functions["ProcessFunction"]
    sqs = local_stack.client("sqs")
    queue = sqs.get_queue_url(QueueName=trigger_queue_name(function))["QueueUrl"]
    failures = sqs.get_queue_url(QueueName=local_resource_name("ProcessFailureQueue"))["QueueUrl"]
    image_id = str(uuid.uuid4())
    event = s3_event("no-such-bucket", f"uploads/{image_id}")
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))

    deadline = time.monotonic() + 60
    record = None
    while record is None and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=failures, WaitTimeSeconds=2, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if body["requestPayload"] == event:
                record = body
                sqs.delete_message(QueueUrl=failures, ReceiptHandle=message["ReceiptHandle"])
    assert record is not None, "the event reached the on-failure queue"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == function.max_retries + 1
    assert record["requestContext"]["functionArn"].endswith(f":function:{function.logical_id}:$LATEST")
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert "NoSuchBucket" in record["responsePayload"]["errorMessage"]
    attempts = Counter(
        line.split(", attempt ")[1].split(",")[0]
        for line in local_stack.output().splitlines()
        if f"uploads/{image_id} error" in line
    )
    assert sorted(attempts) == [str(n) for n in range(1, function.max_retries + 2)]


def test_objects_outside_uploads_do_not_trigger(local_stack, stored_bucket):
    s3 = local_stack.client("s3")
    s3.put_object(Bucket=stored_bucket, Key="elsewhere/file.txt", Body=b"not for processing")
    # A barrier instead of a pause: an upload put after it. Its event would queue behind the first one's, and
    # a key outside uploads/ would return at once, so once the upload's invocation has returned, so had it.
    marker = f"uploads/{uuid.uuid4()}"
    s3.put_object(Bucket=stored_bucket, Key=marker, Body=b"not an image either")
    assert local_stack.wait_for_line(rf"ProcessFunction \S+/{marker} ok", timeout=60) is not None, local_stack.output()
    assert local_stack.count_lines("elsewhere/file.txt") == 0


def test_requests_are_handled_concurrently(base_url, http, local_stack, stack_resources, photo, stored_bucket):
    """A long poll (?wait=) does not hold other requests up."""
    s3 = local_stack.client("s3")
    saved = s3.get_bucket_notification_configuration(Bucket=stored_bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=stored_bucket, NotificationConfiguration={})
    try:
        image_id = http.post(f"{base_url}/api/images", data=photo(seed=41), timeout=30).json()["id"]
    finally:
        s3.put_bucket_notification_configuration(Bucket=stored_bucket, NotificationConfiguration=saved)
    waiting = threading.Thread(
        target=requests.get, args=(f"{base_url}/api/images/{image_id}",), kwargs={"params": {"wait": 4}, "timeout": 30}
    )
    waiting.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert requests.get(f"{base_url}/api/health", timeout=10).status_code == 200
    assert time.monotonic() - started < 2
    waiting.join()


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))
