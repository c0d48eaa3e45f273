"""Creating what the template declares on the storage server: the buckets with their CORS rules, the S3
triggers (a queue standing in for each function's event queue, and the bucket notifications that feed
it), the queues of the on-failure destinations and the secrets; then running the custom resources the local stack
can run, as CloudFormation does (custom_resources)."""

import json
import uuid
from collections.abc import Callable

from .cfn.template import (
    LOCAL_STACK_ID,
    LOCAL_STACK_NAME,
    Function,
    Stack,
    TemplateError,
    local_resource_name,
    stack_resolver,
)
from .lambda_.lambdas import Trigger
from .s3.storage import StorageServer


def invoked_functions(stack: Stack) -> dict[str, Function]:
    """The functions something invokes locally: an HTTP API route or an S3 trigger. The others (e.g. a
    custom resource's handler, which only CloudFormation calls) have nothing to do here."""
    return {name: f for name, f in stack.functions.items() if f.routes or f.s3_triggers}


def trigger_queue_name(function: Function, index: int = 0) -> str:
    """The queue standing in for Lambda's event queue of a function's index-th S3 trigger."""
    return f"{LOCAL_STACK_NAME}-{function.logical_id}-s3-events" + (f"-{index}" if index else "")


def provision(storage: StorageServer, stack: Stack) -> list[Trigger]:
    """Buckets (with their CORS rules), the S3 triggers' queues and notifications, on-failure queues.

    The CORS rules are the stack's as read_stack(site_origins=...) resolved them: locally the page comes
    from the local stack, so its origin stands in for the deployed site's."""
    s3, sqs = storage.client("s3"), storage.client("sqs")
    for bucket in stack.buckets.values():
        s3.create_bucket(Bucket=bucket.name)
        if bucket.cors_rules:
            rules = [_cors_rule(rule) for rule in bucket.cors_rules]
            s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": rules})

    triggers: list[Trigger] = []
    notifications: dict[str, list[dict]] = {}
    for function in invoked_functions(stack).values():
        for index, trigger in enumerate(function.s3_triggers):
            bucket = stack.bucket_name(trigger.bucket_logical_id)
            name = trigger_queue_name(function, index)
            # Long enough that a message is never handed out twice while its retries are still running.
            visibility = min(43200, function.timeout * (function.max_retries + 1) + 120)
            url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": str(visibility)})["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            config = {"Id": f"{function.logical_id}-{index}", "QueueArn": arn, "Events": list(trigger.events)}
            if trigger.prefix:
                config["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": trigger.prefix}]}}
            notifications.setdefault(bucket, []).append(config)
            triggers.append(Trigger(function, bucket, name, url))
        if function.async_invoke.on_failure_queue:
            sqs.create_queue(QueueName=function.async_invoke.on_failure_queue)
    for bucket, configs in notifications.items():
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
        )
    if stack.secrets:
        secrets = storage.client("secretsmanager")
        for logical_id, value in stack.secrets.items():
            # Named as its local ARN ends; without a value (no SecretString or GenerateSecretString) it is created
            # empty, as CloudFormation does, for a custom resource to write.
            secrets.create_secret(Name=local_resource_name(logical_id), Description=f"{logical_id} of the local stack",
                                  **({"SecretString": value} if value is not None else {}))
    return triggers


# The custom resources the local stack runs at start, as CloudFormation runs them on a deploy: Custom::EdgeKeyPair
# makes the key pair of the signed cookies. Custom::SignInUrls is not run: it sets a Cognito client's URLs, and the
# local sign-in issuer (devstack/cognito) has its own.
LOCAL_CUSTOM_RESOURCES = ("Custom::EdgeKeyPair",)
RESPONSES_BUCKET = f"{LOCAL_STACK_NAME}-cloudformation-responses"


def _sigv4_s3(storage: StorageServer):
    """The storage server's S3 with SigV4 pre-signed URLs (CloudFormation's ResponseURL is one)."""
    import boto3
    from botocore.config import Config

    from .cfn.template import LOCAL_REGION
    from .iam.identity import STACK_CREDENTIALS

    return boto3.client("s3", endpoint_url=storage.endpoint, region_name=LOCAL_REGION,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
                        **STACK_CREDENTIALS.as_client_arguments())


def custom_resource_functions(stack: Stack) -> dict[str, Function]:
    """The functions of the custom resources the local stack runs (their ServiceToken)."""
    return {name: stack.functions[name] for name, _ in _custom_resources(stack)}


def _custom_resources(stack: Stack) -> list[tuple[str, str]]:
    """(function, resource) of each custom resource the local stack runs, in template order."""
    resolver = stack_resolver(stack)
    found = []
    for logical_id, resource in stack.template["Resources"].items():
        if resource["Type"] not in LOCAL_CUSTOM_RESOURCES or not (
                "Condition" not in resource or resolver.condition(resource["Condition"])):
            continue
        token = resource["Properties"]["ServiceToken"]
        target = token.get("Fn::GetAtt") if isinstance(token, dict) else None
        function = (target[0] if isinstance(target, list) else str(target).split(".", 1)[0]) if target else None
        if function not in stack.functions:
            raise TemplateError(f"{logical_id}: its ServiceToken must be !GetAtt <a function of the template>.Arn")
        found.append((function, logical_id))
    return found


def run_custom_resources(
    storage: StorageServer, stack: Stack, invoke: Callable[[str, dict], object]
) -> dict[str, dict]:
    """Create each custom resource the local stack runs, as CloudFormation does: its function gets the Create event
    and answers with a PUT to the pre-signed ResponseURL (an object in a bucket of the storage server). Returns each
    resource's Data (its attributes); a FAILED answer, or none, is a TemplateError with the function's reason."""
    s3 = _sigv4_s3(storage)
    if _custom_resources(stack):
        s3.create_bucket(Bucket=RESPONSES_BUCKET)
    resolver = stack_resolver(stack)
    attributes: dict[str, dict] = {}
    for function, logical_id in _custom_resources(stack):
        resource = stack.template["Resources"][logical_id]
        request_id = str(uuid.uuid4())
        key = f"{logical_id}/{request_id}"
        event = {
            "RequestType": "Create", "RequestId": request_id, "StackId": LOCAL_STACK_ID,
            "LogicalResourceId": logical_id, "ResourceType": resource["Type"],
            "ServiceToken": f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
            "ResponseURL": s3.generate_presigned_url("put_object", Params={"Bucket": RESPONSES_BUCKET, "Key": key},
                                                     ExpiresIn=3600),
            "ResourceProperties": resolver.resolve(resource["Properties"]),
        }
        invoke(function, event)
        try:
            answer = json.loads(s3.get_object(Bucket=RESPONSES_BUCKET, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            raise TemplateError(f"{logical_id}: {function} did not answer CloudFormation") from None
        if answer.get("Status") != "SUCCESS":
            raise TemplateError(f"{logical_id}: {function} answered {answer.get('Status')}: {answer.get('Reason')}")
        attributes[logical_id] = answer.get("Data") or {}
    return attributes


def _cors_rule(rule: dict) -> dict:
    """A CloudFormation CorsRule as the S3 API spells it."""
    names = {
        "AllowedMethods": "AllowedMethods",
        "AllowedOrigins": "AllowedOrigins",
        "AllowedHeaders": "AllowedHeaders",
        "ExposedHeaders": "ExposeHeaders",
        "MaxAge": "MaxAgeSeconds",
        "Id": "ID",
    }
    converted = {names[key]: value for key, value in rule.items() if key in names}
    if "MaxAgeSeconds" in converted:
        converted["MaxAgeSeconds"] = int(converted["MaxAgeSeconds"])
    return converted
