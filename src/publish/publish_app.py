"""Custom::WebsitePublisher: every deploy leaves the site live, with no step after it.

Create and Update copy web/ (from WebLayer) into the website bucket and invalidate the
distribution; Delete empties the bucket, so CloudFormation can delete it. crhelper answers CloudFormation on
every path: an exception becomes FAILED with its message as the reason, and a timer answers FAILED just
before the Lambda timeout, so a stack never waits for an answer that will not come."""

import logging
import os
from functools import cache
from pathlib import Path

import boto3
import publisher
from botocore.exceptions import BotoCoreError, ClientError
from crhelper import CfnResource

# WebLayer (template.yaml) carries web/ under web/, and Lambda extracts layers into /opt.
WEB_DIR = Path("/opt/web")

logger = logging.getLogger(__name__)


def handler(event, context):
    _helper()(event, context)


@cache
def _helper() -> CfnResource:
    # Made on first use, not at import: crhelper sets the root logger's level when it is made.
    helper = CfnResource(json_logging=False, log_level=os.environ.get("LOG_LEVEL", "INFO"), boto_level="CRITICAL",
                         sleep_on_delete=0)
    helper.create(publish)
    helper.update(publish)
    helper.delete(unpublish)
    return helper


def publish(event, context) -> str:
    """Create and Update: the bucket becomes web/, then the distribution forgets its copies.

    The physical id is the bucket's name: when the bucket is replaced the id changes, and CloudFormation
    then deletes the old resource, which empties the old bucket."""
    properties = event["ResourceProperties"]
    bucket = _required(properties, "BucketName")
    distribution_id = _required(properties, "DistributionId")
    try:
        result = publisher.sync(boto3.client("s3"), bucket, WEB_DIR)
        invalidation_id = publisher.invalidate(boto3.client("cloudfront"), distribution_id, event["RequestId"])
    except (ClientError, BotoCoreError) as error:
        raise publisher.PublishError(f"publishing web/ to bucket {bucket} (distribution {distribution_id}) "
                                     f"failed: {error}") from error
    _helper().Data.update({
        "Uploaded": len(result.uploaded), "Unchanged": len(result.unchanged), "Deleted": len(result.deleted),
        "InvalidationId": invalidation_id,
    })
    return bucket


def unpublish(event, context) -> None:
    """Delete: empty the bucket this resource filled. A bucket that is already gone is nothing to do, so a
    rollback after a failed create, or a second delete, still succeeds."""
    bucket = event.get("ResourceProperties", {}).get("BucketName")
    if not bucket:
        return
    try:
        publisher.empty(boto3.client("s3"), bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "NoSuchBucket":
            logger.info("bucket %s is already gone", bucket)
            return
        raise publisher.PublishError(f"emptying bucket {bucket} failed: {error}") from error


def _required(properties: dict, name: str) -> str:
    value = properties.get(name)
    if not value:
        raise publisher.PublishError(f"the resource property {name} is required")
    return str(value)
