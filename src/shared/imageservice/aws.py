"""AWS clients, created on first use so tests can mock first and warm invocations reuse them."""

import functools


@functools.cache
def s3_client():
    # boto3 is imported here rather than at the top: it is most of every handler's import time
    # (bench/bench_cold_start.py), and a request refused before it reaches S3 never needs it.
    import boto3
    from botocore.config import Config as BotoConfig

    # SigV4 everywhere: pre-signed URLs must work in every region, and the endpoint (AWS_ENDPOINT_URL_S3,
    # set only by the local stack) is read by boto3 itself, so nothing here knows where S3 is.
    return boto3.client("s3", config=BotoConfig(signature_version="s3v4", retries={"mode": "standard"}))
