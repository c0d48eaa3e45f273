"""Custom::SignInUrls: after the distribution exists, the site client gets its OAuth settings and URLs.

Create and Update apply them (signin_urls.apply); Delete leaves the client to CloudFormation, which deletes
it. crhelper answers CloudFormation on every path: an exception becomes FAILED with its message."""

import os
from functools import cache

import boto3
import signin_urls
from botocore.exceptions import BotoCoreError, ClientError
from crhelper import CfnResource


def handler(event, context):
    _helper()(event, context)


@cache
def _helper() -> CfnResource:
    helper = CfnResource(json_logging=False, log_level=os.environ.get("LOG_LEVEL", "INFO"), boto_level="CRITICAL",
                         sleep_on_delete=0)
    helper.create(apply)
    helper.update(apply)
    helper.delete(lambda event, context: None)
    return helper


def apply(event, context) -> str:
    """The physical id is the client's id: a new client is a new resource."""
    properties = event["ResourceProperties"]
    try:
        signin_urls.apply(
            boto3.client("cognito-idp"),
            properties["UserPoolId"],
            properties["ClientId"],
            properties.get("SiteUrls", []),
            properties.get("Scopes", ["openid"]),
        )
    except (ClientError, BotoCoreError) as error:
        raise signin_urls.SignInUrlsError(f"updating client {properties['ClientId']} failed: {error}") from error
    return properties["ClientId"]
