#!/usr/bin/env python3
"""Replay the events ProcessFunction gave up on, from its on-failure queue.

    python scripts/replay_failures.py --stack-name image-processing [--dry-run]
    python scripts/replay_failures.py --queue-url https://sqs.../ProcessFailureQueue [--dry-run]

After its retries (MaximumRetryAttempts) Lambda sends each failed asynchronous invocation to the
on-failure destination, the ProcessFailureQueue of template.yaml, as a record holding the original event
(`requestPayload`), where it failed (`requestContext`: functionArn, condition, approximateInvokeCount)
and why (`responsePayload`: errorType, errorMessage). Once the cause is fixed (S3 throttling passed, a
bug deployed away), this script invokes the function again, asynchronously, with each original event,
and deletes each message once its invocation was accepted. Processing is idempotent, so replaying an
event whose image has since been processed changes nothing.

--dry-run lists the messages and changes nothing. A message that is not such a record, or whose
invocation is refused, is reported and left in the queue. Exits 1 when anything was left behind."""

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

FAILURE_QUEUE_OUTPUT = "ProcessFailureQueueUrl"
_FUNCTION_ARN = re.compile(r"arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:[A-Za-z0-9_-]+(:[$A-Za-z0-9_-]+)?")
# SQS hides a received message for this long: longer than a run takes, so no message comes twice in one
# run; what the run leaves in the queue is made visible again when it ends.
VISIBILITY_SECONDS = 900


class MalformedRecord(ValueError):
    pass


@dataclass(frozen=True)
class FailureRecord:
    function_arn: str
    payload: dict
    condition: str
    attempts: int | None
    error: str  # "<errorType>: <errorMessage>", or "" when Lambda gave none (EventAgeExceeded)

    def describe(self) -> str:
        keys = [record.get("s3", {}).get("object", {}).get("key", "?")
                for record in self.payload.get("Records", []) if isinstance(record, dict)]
        where = f" ({', '.join(keys)})" if keys else ""
        attempts = f" after {self.attempts} attempt(s)" if self.attempts is not None else ""
        error = f": {self.error}" if self.error else ""
        return f"{self.function_arn}{where}, {self.condition}{attempts}{error}"


@dataclass
class Summary:
    replayed: int = 0
    listed: int = 0
    malformed: int = 0
    failed: int = 0
    left: list[str] = field(default_factory=list)  # message ids left in the queue

    @property
    def ok(self) -> bool:
        return not (self.malformed or self.failed)


def parse_record(body: str) -> FailureRecord:
    """The failure record in an SQS message body, or MalformedRecord saying what is wrong with it."""
    try:
        record = json.loads(body)
    except ValueError:
        raise MalformedRecord("the body is not JSON") from None
    if not isinstance(record, dict):
        raise MalformedRecord("the body is not a JSON object")
    context = record.get("requestContext")
    if not isinstance(context, dict):
        raise MalformedRecord("no requestContext")
    arn = context.get("functionArn")
    if not isinstance(arn, str) or not _FUNCTION_ARN.fullmatch(arn):
        raise MalformedRecord(f"requestContext.functionArn is not a Lambda function ARN: {arn!r}")
    payload = record.get("requestPayload")
    if not isinstance(payload, dict):
        raise MalformedRecord("requestPayload is missing or not an event object")
    response = record.get("responsePayload")
    error = ""
    if isinstance(response, dict):
        error = f"{response.get('errorType', 'Error')}: {response.get('errorMessage', '')}".strip()
    attempts = context.get("approximateInvokeCount")
    return FailureRecord(
        function_arn=arn,
        payload=payload,
        condition=str(context.get("condition", "unknown condition")),
        attempts=attempts if isinstance(attempts, int) else None,
        error=error,
    )


def _messages(sqs, queue_url: str, wait_seconds: int):
    """Each message of the queue once: received messages stay hidden until the run ends, so every receive
    brings new ones until the queue is exhausted."""
    seen = set()
    while True:
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds,
                                     VisibilityTimeout=VISIBILITY_SECONDS, AttributeNames=["All"])
        fresh = [message for message in answer.get("Messages", []) if message["MessageId"] not in seen]
        if not fresh:
            return
        for message in fresh:
            seen.add(message["MessageId"])
            yield message


def _make_visible(sqs, queue_url: str, messages: list[dict]) -> None:
    """Show the messages left in the queue again at once, for the next run or a person."""
    for message in messages:
        try:
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                          VisibilityTimeout=0)
        except Exception:  # noqa: BLE001 - it reappears after VISIBILITY_SECONDS anyway
            pass


def replay(sqs, lambda_client, queue_url: str, *, dry_run: bool = False, wait_seconds: int = 1,
           out: Callable[[str], None] = print) -> Summary:
    summary = Summary()
    left: list[dict] = []
    for message in _messages(sqs, queue_url, wait_seconds):
        message_id = message["MessageId"]
        try:
            record = parse_record(message.get("Body", ""))
        except MalformedRecord as problem:
            summary.malformed += 1
            out(f"left {message_id}: not a Lambda failure record ({problem}): {message.get('Body', '')[:200]!r}")
            left.append(message)
            continue
        if dry_run:
            summary.listed += 1
            out(f"would replay {message_id}: {record.describe()}")
            left.append(message)
            continue
        try:
            answer = lambda_client.invoke(FunctionName=record.function_arn, InvocationType="Event",
                                          Payload=json.dumps(record.payload).encode("utf-8"))
            if answer.get("StatusCode") != 202:
                raise RuntimeError(f"Lambda answered {answer.get('StatusCode')}")
        except Exception as error:  # noqa: BLE001 - reported, the message stays, the run goes on
            summary.failed += 1
            out(f"left {message_id}: invoking {record.function_arn} failed ({error})")
            left.append(message)
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        summary.replayed += 1
        out(f"replayed {message_id}: {record.describe()}")
    _make_visible(sqs, queue_url, left)
    summary.left = [message["MessageId"] for message in left]
    if dry_run:
        out(f"{summary.listed} to replay, {summary.malformed} malformed (dry run: nothing changed)")
    else:
        out(f"{summary.replayed} replayed, {summary.malformed} malformed and {summary.failed} failed left in the queue")
    return summary


def queue_url_from_stack(cloudformation, stack_name: str) -> str:
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    for output in stacks[0].get("Outputs", []):
        if output["OutputKey"] == FAILURE_QUEUE_OUTPUT:
            return output["OutputValue"]
    raise SystemExit(f"stack {stack_name} has no output {FAILURE_QUEUE_OUTPUT}")


def main(argv: list[str] | None = None, session=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--queue-url", help="the on-failure queue's URL")
    source.add_argument("--stack-name", help=f"read the queue URL from this stack's {FAILURE_QUEUE_OUTPUT} output")
    parser.add_argument("--region", help="AWS region (default: the usual AWS configuration)")
    parser.add_argument("--profile", help="AWS profile (default: the usual AWS configuration)")
    parser.add_argument("--dry-run", action="store_true", help="list the messages; invoke and delete nothing")
    parser.add_argument("--wait-seconds", type=int, default=1, choices=range(0, 21), metavar="0-20",
                        help="SQS long-poll time per receive (default 1)")
    args = parser.parse_args(argv)

    if session is None:
        import boto3

        session = boto3.Session(region_name=args.region, profile_name=args.profile)
    queue_url = args.queue_url or queue_url_from_stack(session.client("cloudformation"), args.stack_name)
    summary = replay(session.client("sqs"), None if args.dry_run else session.client("lambda"), queue_url,
                     dry_run=args.dry_run, wait_seconds=args.wait_seconds)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
