"""scripts/replay_failures.py over moto SQS and CloudFormation, with Lambda's invoke patched (moto's
Lambda runs code in Docker): each failure record is re-invoked asynchronously with its original event
and deleted; malformed messages, and records whose invocation is refused, stay in the queue and are
reported; --dry-run changes nothing."""

import importlib.util
import json
from pathlib import Path
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:image-processing-ProcessFunction-AbC123:$LATEST"


@pytest.fixture(scope="module")
def replay_failures():
    spec = importlib.util.spec_from_file_location("replay_failures", ROOT / "scripts" / "replay_failures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def aws(aws_credentials):
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


@pytest.fixture
def queue(aws):
    sqs = aws.client("sqs")
    return sqs, sqs.create_queue(QueueName="ProcessFailureQueue")["QueueUrl"]


@pytest.fixture
def lambda_client(aws):
    client = aws.client("lambda")
    with mock.patch.object(client, "invoke", return_value={"StatusCode": 202}) as invoke:
        client.invoke_mock = invoke
        yield client


def s3_event(key: str) -> dict:
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": "stored-images-x"}, "object": {"key": key, "size": 10}}}]}


def failure_record(event: dict, condition: str = "RetriesExhausted", error: dict | None = None) -> dict:
    record = {
        "version": "1.0",
        "timestamp": "2026-11-25T14:30:00.000Z",
        "requestContext": {"requestId": "5b0e4c1a-7f7e-4a7d-9d7e-3d1c0b2a1f00", "functionArn": FUNCTION_ARN,
                           "condition": condition, "approximateInvokeCount": 3},
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    }
    if error is not None:
        record["responsePayload"] = error
    return record


def send(queue, body) -> str:
    sqs, url = queue
    return sqs.send_message(QueueUrl=url, MessageBody=body if isinstance(body, str) else json.dumps(body))["MessageId"]


def remaining(queue) -> set[str]:
    """The bodies in the queue, read and then made visible again."""
    sqs, url = queue
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 0  # the script left nothing hidden
    messages = {}
    while batch := [m for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
                    .get("Messages", []) if m["MessageId"] not in messages]:
        messages.update((m["MessageId"], m) for m in batch)
    for message in messages.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return {message["Body"] for message in messages.values()}


THROTTLED = {"errorMessage": "An error occurred (SlowDown) when calling the GetObject operation",
             "errorType": "ClientError", "stackTrace": []}
MALFORMED = ["not json at all", json.dumps([1, 2]), json.dumps({"requestContext": {"functionArn": FUNCTION_ARN}}),
             json.dumps(failure_record(s3_event("uploads/x")) | {"requestContext": {"functionArn": "my-function"}})]


def test_records_are_reinvoked_with_their_event_and_deleted_and_malformed_ones_stay(replay_failures, queue,
                                                                                    lambda_client, capsys):
    first, second = s3_event("uploads/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90"), s3_event("uploads/a")
    send(queue, failure_record(first, error=THROTTLED))
    send(queue, failure_record(second, condition="EventAgeExceeded"))  # Lambda gives no responsePayload here
    for body in MALFORMED:
        send(queue, body)

    summary = replay_failures.replay(queue[0], lambda_client, queue[1], wait_seconds=0)

    assert (summary.replayed, summary.malformed, summary.failed, summary.ok) == (2, len(MALFORMED), 0, False)
    calls = lambda_client.invoke_mock.call_args_list
    assert sorted((json.loads(c.kwargs["Payload"]) for c in calls), key=json.dumps) == sorted([first, second],
                                                                                             key=json.dumps)
    assert {c.kwargs["FunctionName"] for c in calls} == {FUNCTION_ARN}
    assert {c.kwargs["InvocationType"] for c in calls} == {"Event"}
    assert remaining(queue) == set(MALFORMED)
    out = capsys.readouterr().out
    assert "SlowDown" in out and "EventAgeExceeded" in out and "uploads/3f0c9a56" in out
    assert out.count("not a Lambda failure record") == len(MALFORMED)
    assert "2 replayed, 4 malformed and 0 failed left in the queue" in out


def test_a_refused_invocation_leaves_the_record_for_later(replay_failures, queue, lambda_client, capsys):
    kept = json.dumps(failure_record(s3_event("uploads/b")))
    send(queue, kept)
    lambda_client.invoke_mock.side_effect = ClientError(
        {"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")
    summary = replay_failures.replay(queue[0], lambda_client, queue[1], wait_seconds=0)
    assert (summary.replayed, summary.failed) == (0, 1)
    assert remaining(queue) == {kept}
    assert "TooManyRequestsException" in capsys.readouterr().out

    lambda_client.invoke_mock.side_effect = None  # the next run gets it through
    assert replay_failures.replay(queue[0], lambda_client, queue[1], wait_seconds=0).replayed == 1
    assert remaining(queue) == set()


def test_dry_run_lists_and_changes_nothing(replay_failures, queue, aws, capsys):
    bodies = {json.dumps(failure_record(s3_event(f"uploads/{n}"), error=THROTTLED)) for n in range(12)}
    for body in bodies:
        send(queue, body)
    with mock.patch.object(boto3.Session, "client", side_effect=aws.client) as clients:
        code = replay_failures.main(["--queue-url", queue[1], "--dry-run", "--wait-seconds", "0"], session=aws)
    assert code == 0
    assert "lambda" not in [c.args[0] for c in clients.call_args_list]
    out = capsys.readouterr().out
    assert out.count("would replay") == 12 and "12 to replay, 0 malformed (dry run: nothing changed)" in out
    assert remaining(queue) == bodies


def test_the_queue_url_comes_from_the_stack_output(replay_failures, queue, aws, capsys):
    send(queue, failure_record(s3_event("uploads/c")))
    cloudformation = aws.client("cloudformation")
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
                "Outputs": {"ProcessFailureQueueUrl": {"Value": queue[1]}}}
    cloudformation.create_stack(StackName="image-processing", TemplateBody=json.dumps(template))
    assert replay_failures.queue_url_from_stack(cloudformation, "image-processing") == queue[1]
    assert replay_failures.main(["--stack-name", "image-processing", "--dry-run", "--wait-seconds", "0"],
                                session=aws) == 0
    assert "would replay" in capsys.readouterr().out


def test_a_stack_without_the_output_is_a_clear_error(replay_failures, aws):
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName="other", TemplateBody=json.dumps(
        {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}))
    with pytest.raises(SystemExit, match="ProcessFailureQueueUrl"):
        replay_failures.queue_url_from_stack(cloudformation, "other")


def test_the_template_output_the_script_reads_exists(replay_failures, template):
    output = template["Outputs"][replay_failures.FAILURE_QUEUE_OUTPUT]
    assert output["Value"] == {"Ref": "ProcessFailureQueue"}
    destination = template["Resources"]["ProcessFunction"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]
    assert destination["OnFailure"]["Destination"] == {"Fn::GetAtt": ["ProcessFailureQueue", "Arn"]}
