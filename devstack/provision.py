"""Creating what the template declares on the storage server: the buckets with their CORS rules, the S3
triggers (a queue standing in for each function's event queue, and the bucket notifications that feed
it), and the queues of the on-failure destinations."""

from .cfn.template import LOCAL_STACK_NAME, Function, Stack
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
    return triggers


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
