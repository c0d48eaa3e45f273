"""Custom::WebsitePublisher over moto: S3 and CloudFront, with CloudFormation's response URL caught.

crhelper PUTs its answer to the pre-signed response URL with http.client; the fake connection below keeps
every answer, so each test sees exactly what CloudFormation would have been told."""

import copy
import json
import sys
import threading
import time
import uuid
from pathlib import Path

import boto3
import publisher
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devstack.iam import acting_as, acting_function, install_iam
from devstack.lambda_.functions import LambdaContext, load_handler

RESPONSE_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/answer?X-Amz-Signature=x"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/image-processing/0f1e2d3c-4b5a-4697-8877-665544332211"

SITE = {
    "index.html": b"<!doctype html><title>x</title><script type=module src=app.js></script>",
    "app.js": b"import './api.js';\n",
    "api.js": b"export const api = 1;\n",
    "style.css": b"body { margin: 0 }\n",
    "favicon.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "fonts/inter.woff2": b"wOF2\x00\x01",
}


class CloudFormationAnswers:
    """Stands in for http.client.HTTPSConnection in crhelper.utils; records every PUT."""

    def __init__(self):
        self.answers: list[dict] = []
        self.event = threading.Event()
        answers = self

        class Connection:
            def __init__(self, host, context=None):
                self.host = host

            def request(self, method, url, body=None, headers=None):
                answers.answers.append({"host": self.host, "method": method, "url": url, "body": json.loads(body)})
                answers.event.set()

            def getresponse(self):
                class Response:
                    reason = "OK"
                    status = 200
                return Response()

        self.connection = Connection

    @property
    def last(self) -> dict:
        assert self.answers, "CloudFormation got no answer"
        return self.answers[-1]["body"]


@pytest.fixture
def answers(monkeypatch):
    import crhelper.utils

    recorder = CloudFormationAnswers()
    monkeypatch.setattr(crhelper.utils, "HTTPSConnection", recorder.connection)
    return recorder


@pytest.fixture
def web_dir(tmp_path) -> Path:
    root = tmp_path / "web"
    for key, body in SITE.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(body)
    (root / ".DS_Store").write_bytes(b"junk")  # hidden files are never published
    return root


@pytest.fixture
def publisher_template(rendered_template, request):
    """The rendered template whose PublishFunction role the publisher runs under; a test may drop the
    statement with one Sid (its parameter)."""
    sid = getattr(request, "param", None)
    if sid is None:
        return rendered_template
    narrowed = copy.deepcopy(rendered_template)
    for policy in narrowed["Resources"]["PublishFunctionRole"]["Properties"]["Policies"]:
        statements = policy["PolicyDocument"]["Statement"]
        policy["PolicyDocument"]["Statement"] = [s for s in statements if s.get("Sid") != sid]
    return narrowed


@pytest.fixture
def aws(aws_credentials):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        s3.create_bucket(Bucket="website-bucket")
        distribution = cloudfront.create_distribution(DistributionConfig={
            "CallerReference": "test", "Comment": "", "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{
                "Id": "WebsiteOrigin", "DomainName": "website-bucket.s3.us-east-1.amazonaws.com",
                "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "WebsiteOrigin", "ViewerProtocolPolicy": "redirect-to-https",
                                     "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"},
        })
        yield s3, cloudfront, distribution["Distribution"]["Id"]


@pytest.fixture
def iam(aws, publisher_template):
    """PublishFunction's calls judged by its role, with this bucket and distribution in the policies."""
    installed = install_iam(boto3, acting_function, publisher_template,
                            {"WebsiteBucket": "website-bucket", "Distribution": aws[2]})
    yield installed
    installed.uninstall()


class Publisher:
    """Sends PublishFunction CloudFormation's requests, as CloudFormation would."""

    def __init__(self, function, answers: CloudFormationAnswers, distribution_id: str):
        self.function = function
        self.handler = load_handler(function)
        self.app = sys.modules[self.handler.__module__]  # the handler module as loaded for this function
        self.answers = answers
        self.distribution_id = distribution_id

    def event(self, request_type: str, properties: dict | None = None, physical_id: str | None = None,
              **extra) -> dict:
        event = {
            "RequestType": request_type, "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:Publish",
            "ResponseURL": RESPONSE_URL, "StackId": STACK_ID, "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": "WebsitePublication", "ResourceType": "Custom::WebsitePublisher",
            "ResourceProperties": {"ServiceToken": "arn", "BucketName": "website-bucket",
                                   "DistributionId": self.distribution_id, "ContentVersion": "1"}
            if properties is None else properties,
            **extra,
        }
        if physical_id:
            event["PhysicalResourceId"] = physical_id
        return event

    def send(self, event: dict, context: object | None = None) -> list[dict]:
        """Every answer CloudFormation got for this request."""
        count = len(self.answers.answers)
        with acting_as(self.function.logical_id):
            self.handler(event, context or LambdaContext(self.function, str(uuid.uuid4())))
        return [answer["body"] for answer in self.answers.answers[count:]]

    def __call__(self, request_type: str, **kwargs) -> dict:
        """The one answer to one request."""
        (answer,) = self.send(self.event(request_type, **kwargs))
        return answer


@pytest.fixture
def publish(stack, aws, iam, answers, web_dir, monkeypatch):
    publisher_ = Publisher(stack.functions["PublishFunction"], answers, aws[2])
    monkeypatch.setattr(publisher_.app, "WEB_DIR", web_dir)
    return publisher_


def objects(s3, bucket="website-bucket") -> dict[str, dict]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {key: s3.head_object(Bucket=bucket, Key=key) for key in keys}


def test_create_uploads_every_file_with_its_content_type_and_cache_header(publish, aws, answers):
    s3, cloudfront, distribution_id = aws
    answer = publish("Create")
    assert answer["Status"] == "SUCCESS", answer
    assert answer["PhysicalResourceId"] == "website-bucket"
    assert answer["Data"]["Uploaded"] == len(SITE) and answer["Data"]["Deleted"] == 0
    stored = objects(s3)
    assert set(stored) == set(SITE)
    assert {key: head["ContentType"] for key, head in stored.items()} == {
        "index.html": "text/html; charset=utf-8",
        "app.js": "text/javascript; charset=utf-8",
        "api.js": "text/javascript; charset=utf-8",
        "style.css": "text/css; charset=utf-8",
        "favicon.svg": "image/svg+xml",
        "fonts/inter.woff2": "font/woff2",
    }
    assert stored["index.html"]["CacheControl"] == "no-cache"
    assert {head["CacheControl"] for key, head in stored.items() if key != "index.html"} == {"public, max-age=300"}
    for key, body in SITE.items():
        assert s3.get_object(Bucket="website-bucket", Key=key)["Body"].read() == body
    # The answer went to the response URL CloudFormation gave, as a PUT.
    assert answers.answers[-1]["method"] == "PUT" and answers.answers[-1]["url"].startswith("/answer?")


def test_create_and_update_invalidate_the_whole_distribution(publish, aws):
    _, cloudfront, distribution_id = aws
    first = publish("Create")
    publish("Update", physical_id="website-bucket", OldResourceProperties={})
    invalidations = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]["Items"]
    assert len(invalidations) == 2
    detail = cloudfront.get_invalidation(DistributionId=distribution_id, Id=first["Data"]["InvalidationId"])
    assert detail["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/*"]


def test_update_uploads_only_changed_files_and_deletes_removed_ones(publish, aws, web_dir):
    s3, _, _ = aws
    publish("Create")
    (web_dir / "app.js").write_bytes(b"import './api.js'; console.log(2);\n")
    (web_dir / "style.css").unlink()
    (web_dir / "fonts" / "inter.woff2").unlink()
    (web_dir / "new.js").write_bytes(b"export {};\n")

    answer = publish("Update", physical_id="website-bucket", OldResourceProperties={})
    assert answer["Status"] == "SUCCESS", answer
    assert answer["PhysicalResourceId"] == "website-bucket"
    assert (answer["Data"]["Uploaded"], answer["Data"]["Deleted"], answer["Data"]["Unchanged"]) == (2, 2, 3)
    stored = objects(s3)
    assert set(stored) == {"index.html", "app.js", "api.js", "favicon.svg", "new.js"}
    assert s3.get_object(Bucket="website-bucket", Key="app.js")["Body"].read() == (web_dir / "app.js").read_bytes()


def test_sync_names_what_it_did_and_repairs_wrong_headers(aws, web_dir):
    s3, _, _ = aws
    first = publisher.sync(s3, "website-bucket", web_dir)
    assert sorted(first.uploaded) == sorted(SITE) and not first.unchanged and not first.deleted
    s3.put_object(Bucket="website-bucket", Key="stale.js", Body=b"old")
    # Same bytes, wrong type: the ETag matches but the headers do not, so it goes up again.
    s3.put_object(Bucket="website-bucket", Key="api.js", Body=SITE["api.js"], ContentType="text/plain")
    second = publisher.sync(s3, "website-bucket", web_dir)
    assert second.uploaded == ["api.js"]
    assert second.deleted == ["stale.js"]
    assert sorted(second.unchanged) == sorted(set(SITE) - {"api.js"})
    assert publisher.sync(s3, "website-bucket", web_dir).uploaded == []


def test_an_empty_web_dir_never_wipes_the_site(publish, aws, web_dir, tmp_path, monkeypatch):
    s3, _, _ = aws
    publish("Create")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    monkeypatch.setattr(publish.app, "WEB_DIR", empty_dir)
    answer = publish("Update", physical_id="website-bucket", OldResourceProperties={})
    assert answer["Status"] == "FAILED" and "no files to publish" in answer["Reason"]
    assert set(objects(s3)) == set(SITE)


def test_delete_empties_the_bucket(publish, aws):
    s3, _, _ = aws
    publish("Create")
    answer = publish("Delete", physical_id="website-bucket")
    assert answer["Status"] == "SUCCESS", answer
    assert answer["PhysicalResourceId"] == "website-bucket"
    assert objects(s3) == {}
    s3.delete_bucket(Bucket="website-bucket")  # what CloudFormation does next: only an empty bucket goes


def test_delete_succeeds_when_the_bucket_is_already_gone(publish, aws):
    s3, _, distribution_id = aws
    answer = publish("Delete", physical_id="website-bucket", properties={
        "ServiceToken": "arn", "BucketName": "no-such-bucket", "DistributionId": distribution_id})
    assert answer["Status"] == "SUCCESS", answer


def test_a_missing_bucket_answers_failed_with_a_reason(publish, aws):
    _, _, distribution_id = aws
    answer = publish("Create", properties={"ServiceToken": "arn", "BucketName": "no-such-bucket",
                                           "DistributionId": distribution_id})
    assert answer["Status"] == "FAILED"
    assert "no-such-bucket" in answer["Reason"] and "NoSuchBucket" in answer["Reason"]
    assert answer["StackId"] == STACK_ID and answer["LogicalResourceId"] == "WebsitePublication"
    assert answer["PhysicalResourceId"]  # CloudFormation needs one even for a failed create


def test_a_missing_property_answers_failed_with_a_reason(publish, aws):
    answer = publish("Create", properties={"ServiceToken": "arn", "BucketName": "website-bucket"})
    assert answer["Status"] == "FAILED"
    assert "DistributionId" in answer["Reason"]


def test_an_unknown_distribution_answers_failed(publish):
    answer = publish("Update", physical_id="website-bucket", OldResourceProperties={}, properties={
        "ServiceToken": "arn", "BucketName": "website-bucket", "DistributionId": "E0000000000000"})
    assert answer["Status"] == "FAILED"
    assert "E0000000000000" in answer["Reason"]


def test_a_publish_about_to_time_out_answers_failed_before_the_lambda_dies(publish, aws, answers, monkeypatch):
    class ShortContext:
        aws_request_id = "r"
        function_name = "PublishFunction"

        def __init__(self):
            self.deadline = time.monotonic() + 0.7

        def get_remaining_time_in_millis(self):
            return max(0, int((self.deadline - time.monotonic()) * 1000))

    real_sync = publisher.sync

    def slow_sync(*args):
        assert answers.event.wait(5), "crhelper's timer did not answer"
        return real_sync(*args)

    monkeypatch.setattr(publisher, "sync", slow_sync)
    answers.event.clear()
    started = time.monotonic()
    sent = publish.send(publish.event("Create"), ShortContext())
    assert time.monotonic() - started < 5
    # The FAILED came from the timer while the work still ran; in Lambda nothing runs after the timeout.
    assert sent[0]["Status"] == "FAILED" and sent[0]["Reason"] == "Execution timed out"


# ------------------------------------------------------------------------------ the publisher under its role

def test_a_whole_lifecycle_needs_nothing_beyond_the_publishers_role(publish, aws, iam):
    s3, _, _ = aws
    assert publish("Create")["Status"] == "SUCCESS"
    s3.put_object(Bucket="website-bucket", Key="stale.js", Body=b"old")  # the test's own call, not judged
    assert publish("Update", physical_id="website-bucket", OldResourceProperties={})["Status"] == "SUCCESS"
    assert publish("Delete", physical_id="website-bucket")["Status"] == "SUCCESS"
    assert objects(s3) == {}
    assert iam.enforcer.refused == []


def test_emptying_by_version_is_refused_by_the_publishers_role(publish, aws, iam):
    """What the publisher once did on Delete (issue 10): list versions and delete each; on AWS every stack
    delete then failed, since its role grants neither s3:ListBucketVersions nor s3:DeleteObjectVersion."""
    assert publish("Create")["Status"] == "SUCCESS"
    with acting_as("PublishFunction"):
        s3 = boto3.client("s3")
        with pytest.raises(ClientError) as listing:
            s3.list_object_versions(Bucket="website-bucket")
        answer = s3.delete_objects(Bucket="website-bucket",
                                   Delete={"Objects": [{"Key": "index.html", "VersionId": "null"}], "Quiet": True})
    assert listing.value.response["Error"]["Code"] == "AccessDenied"
    assert "s3:ListBucketVersions" in listing.value.response["Error"]["Message"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("index.html", "AccessDenied")]
    assert "index.html" in objects(aws[0])
    assert [r.check.action for r in iam.enforcer.refused] == ["s3:ListBucketVersions", "s3:DeleteObjectVersion"]


@pytest.mark.parametrize(("publisher_template", "action"), [
    ("ListSite", "s3:ListBucket"), ("SyncSiteFiles", "s3:PutObject"),
    ("InvalidateSite", "cloudfront:CreateInvalidation"),
], indirect=["publisher_template"])
def test_without_any_one_statement_the_publisher_fails(publish, iam, action):
    answer = publish("Create")
    assert answer["Status"] == "FAILED" and f"not authorized to perform: {action}" in answer["Reason"]
    assert [r.check.action for r in iam.enforcer.refused] == [action]
