"""Which IAM action, on which resource, each AWS API call needs (the Service Authorization Reference's
"Actions, resources, and condition keys" tables, for the calls this project makes).

An API call missing from the tables raises UnmappedOperation rather than passing: a new call in the code
must be given its action here before any test can run it."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse


class UnmappedOperation(LookupError):
    pass


@dataclass(frozen=True)
class Check:
    """One action on one resource that a call needs allowed, with the condition keys it carries."""

    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    key: str | None = None  # the object key, for a per-key check of DeleteObjects


@dataclass(frozen=True)
class Where:
    partition: str
    region: str
    account: str


def _bucket_arn(where: Where, bucket: str) -> str:
    return f"arn:{where.partition}:s3:::{bucket}"


def _object_arn(where: Where, bucket: str, key: str) -> str:
    return f"arn:{where.partition}:s3:::{bucket}/{key}"


def _list_context(params: Mapping) -> dict[str, str]:
    """The s3:prefix, s3:delimiter and s3:max-keys condition keys of a listing, when the call sends them."""
    context = {}
    for param, key in (("Prefix", "s3:prefix"), ("Delimiter", "s3:delimiter"), ("MaxKeys", "s3:max-keys")):
        if params.get(param) is not None:
            context[key] = str(params[param])
    return context


def _object_checks(action: str, versioned_action: str):
    """An object call; given a VersionId it is the version's own action (GetObjectVersion, DeleteObjectVersion)."""
    def checks(params: Mapping, where: Where) -> list[Check]:
        arn = _object_arn(where, params["Bucket"], params["Key"])
        if params.get("VersionId"):
            return [Check(versioned_action, arn, {"s3:versionid": params["VersionId"]})]
        return [Check(action, arn)]
    return checks


def _put_object(params: Mapping, where: Where) -> list[Check]:
    arn = _object_arn(where, params["Bucket"], params["Key"])
    checks = [Check("s3:PutObject", arn)]
    if params.get("ACL") or any(params.get(grant) for grant in ("GrantFullControl", "GrantRead", "GrantReadACP",
                                                                 "GrantWriteACP")):
        checks.append(Check("s3:PutObjectAcl", arn))
    if params.get("Tagging"):
        checks.append(Check("s3:PutObjectTagging", arn))
    return checks


def _copy_object(params: Mapping, where: Where) -> list[Check]:
    source = params["CopySource"]
    if isinstance(source, str):
        bucket, _, key = source.lstrip("/").partition("/")
        key, _, version = key.partition("?versionId=")
        source = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
    read = _object_checks("s3:GetObject", "s3:GetObjectVersion")(source, where)
    return [*read, *_put_object(params, where)]


def _delete_objects(params: Mapping, where: Where) -> list[Check]:
    # S3 authorizes each key of the batch on its own and reports refused keys in Errors.
    checks = []
    for item in params["Delete"]["Objects"]:
        checks += [Check(c.action, c.resource, c.context, key=item["Key"])
                   for c in _object_checks("s3:DeleteObject", "s3:DeleteObjectVersion")(
                       {"Bucket": params["Bucket"], **item}, where)]
    return checks


def _bucket_check(action: str, with_list_context: bool = False):
    def checks(params: Mapping, where: Where) -> list[Check]:
        context = _list_context(params) if with_list_context else {}
        return [Check(action, _bucket_arn(where, params["Bucket"]), context)]
    return checks


def _queue_arn(where: Where, queue_url: str) -> str:
    # https://sqs.<region>.amazonaws.com/<account>/<name>: the account and name are the path.
    account, _, name = urlparse(queue_url).path.strip("/").partition("/")
    return f"arn:{where.partition}:sqs:{where.region}:{account or where.account}:{name}"


def _queue_check(action: str):
    def checks(params: Mapping, where: Where) -> list[Check]:
        return [Check(action, _queue_arn(where, params["QueueUrl"]))]
    return checks


def _distribution_check(action: str):
    def checks(params: Mapping, where: Where) -> list[Check]:
        arn = f"arn:{where.partition}:cloudfront::{where.account}:distribution/{params['DistributionId']}"
        return [Check(action, arn)]
    return checks


def _secret_check(action: str):
    """A call naming a secret by ARN (or partial ARN) or by name."""
    def checks(params: Mapping, where: Where) -> list[Check]:
        secret = params["SecretId"]
        arn = secret if secret.startswith("arn:") else \
            f"arn:{where.partition}:secretsmanager:{where.region}:{where.account}:secret:{secret}"
        return [Check(action, arn)]
    return checks


OPERATIONS = {
    "s3": {
        "GetObject": _object_checks("s3:GetObject", "s3:GetObjectVersion"),
        "HeadObject": _object_checks("s3:GetObject", "s3:GetObjectVersion"),  # HEAD is authorized as GET
        "PutObject": _put_object,
        "CopyObject": _copy_object,
        "DeleteObject": _object_checks("s3:DeleteObject", "s3:DeleteObjectVersion"),
        "DeleteObjects": _delete_objects,
        "GetObjectTagging": _object_checks("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
        "ListObjects": _bucket_check("s3:ListBucket", with_list_context=True),
        "ListObjectsV2": _bucket_check("s3:ListBucket", with_list_context=True),
        "ListObjectVersions": _bucket_check("s3:ListBucketVersions", with_list_context=True),
        "HeadBucket": _bucket_check("s3:ListBucket"),
        "GetBucketLocation": _bucket_check("s3:GetBucketLocation"),
        "GetBucketVersioning": _bucket_check("s3:GetBucketVersioning"),
        "PutBucketLifecycleConfiguration": _bucket_check("s3:PutLifecycleConfiguration"),
        "GetBucketLifecycleConfiguration": _bucket_check("s3:GetLifecycleConfiguration"),
        "PutBucketPolicy": _bucket_check("s3:PutBucketPolicy"),
        "DeleteBucket": _bucket_check("s3:DeleteBucket"),
    },
    "sqs": {
        "SendMessage": _queue_check("sqs:SendMessage"),
        "ReceiveMessage": _queue_check("sqs:ReceiveMessage"),
        "DeleteMessage": _queue_check("sqs:DeleteMessage"),
        "GetQueueAttributes": _queue_check("sqs:GetQueueAttributes"),
    },
    "secretsmanager": {
        "GetSecretValue": _secret_check("secretsmanager:GetSecretValue"),
        "PutSecretValue": _secret_check("secretsmanager:PutSecretValue"),
    },
    "cloudfront": {
        "CreateInvalidation": _distribution_check("cloudfront:CreateInvalidation"),
        "GetInvalidation": _distribution_check("cloudfront:GetInvalidation"),
    },
}


def checks_for(service: str, operation: str, params: Mapping, where: Where) -> list[Check]:
    """What one call needs allowed; raises UnmappedOperation for a call the tables do not know."""
    try:
        mapper = OPERATIONS[service][operation]
    except KeyError:
        raise UnmappedOperation(
            f"no IAM action is mapped for {service}:{operation}; add it to devstack/iam/operations.py") from None
    return mapper(params, where)


def s3_post_checks(bucket: str, key: str, where: Where) -> list[Check]:
    """A pre-signed POST is a PutObject of its key."""
    return [Check("s3:PutObject", _object_arn(where, bucket, key))]
