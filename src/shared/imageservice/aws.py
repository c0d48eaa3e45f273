"""AWS clients, created on first use so tests can mock first and warm invocations reuse them."""

import functools
import os

# Set only by the local stack (AWS_ENDPOINT_URL_S3) or a tool run against another S3; boto3 reads them itself.
ENDPOINT_OVERRIDES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


@functools.cache
def s3_client():
    # boto3 is imported here rather than at the top: it is most of every handler's import time
    # (bench/bench_cold_start.py), and a request refused before it reaches S3 never needs it.
    import boto3
    from botocore.config import Config as BotoConfig

    # SigV4 everywhere: pre-signed URLs must work in every region. Nothing here knows where S3 is: boto3 reads
    # the region and any endpoint override from the environment.
    return boto3.client("s3", config=BotoConfig(signature_version="s3v4", retries={"mode": "standard"},
                                                s3=s3_addressing()))


def s3_addressing() -> dict:
    """Where pre-signed GETs and POSTs point. On AWS: the bucket's regional virtual-hosted name
    (<bucket>.s3.<region>.amazonaws.com). botocore's default is the global <bucket>.s3.amazonaws.com, which a
    new bucket outside us-east-1 answers with a 307 redirect for up to a day (a redirected CORS preflight is
    refused by browsers), and which regions opened since March 2019 (af-south-1, ...) refuse outright.
    Behind an endpoint override (the local stack): path-style, as a bucket name cannot prefix an IP address."""
    if any(os.environ.get(name) for name in ENDPOINT_OVERRIDES):
        return {"addressing_style": "path"}
    return {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}


@functools.cache
def cloudfront_client():
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client("cloudfront", config=BotoConfig(retries={"mode": "standard"}))


@functools.cache
def secretsmanager_client():
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client("secretsmanager", config=BotoConfig(retries={"mode": "standard"}))
