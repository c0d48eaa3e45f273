"""Custom::EdgeKeyPair (AuthMode cognito, oidc): at deploy, a new RSA key pair for CloudFront's signed cookies.

CloudFormation cannot make a key pair itself. Create (and an Update, which only a change of the resource's
properties brings) makes one, writes its private key into the stack's secret (EdgeSigningKey: only this function
may write it, only SessionFunction may read it) and returns the public key as the PublicKey attribute, which
AWS::CloudFront::PublicKey takes; the physical id names the key (its fingerprint), so a new key is a new id and a
new public key resource. Delete leaves the secret to CloudFormation, which deletes it.

Every path answers CloudFormation (a PUT of the result to the event's pre-signed ResponseURL): an exception is
FAILED with its message, never a deploy left waiting for an hour. The answer follows the URL's scheme (crhelper,
which SignInUrls uses, always speaks HTTPS; the local stack's storage answers plain HTTP on loopback)."""

import hashlib
import json
import urllib.request

from aws_lambda_powertools import Logger
from edge_signing import generate_key_pair

logger = Logger()
RESPONSE_TIMEOUT_SECONDS = 30


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    physical_id = event.get("PhysicalResourceId") or f"{event.get('LogicalResourceId', 'EdgeKeyPair')}-failed"
    data: dict[str, str] = {}
    try:
        if event["RequestType"] in ("Create", "Update"):
            physical_id, data = make_key_pair(event["ResourceProperties"]["SecretId"])
        status, reason = "SUCCESS", ""
    except Exception as error:  # noqa: BLE001 - any failure is CloudFormation's FAILED, with its reason
        logger.exception("key pair not made")
        status, reason = "FAILED", f"{type(error).__name__}: {error}"[:500]
    respond(event, context, status, physical_id, data, reason)


def make_key_pair(secret_id: str) -> tuple[str, dict[str, str]]:
    """(physical id, attributes): the private key goes into the secret, the public key out as PublicKey."""
    import boto3

    pair = generate_key_pair()
    boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=pair.private_pem)
    logger.info("key pair made", extra={"key": key_name(pair.public_pem)})
    return key_name(pair.public_pem), {"PublicKey": pair.public_pem}


def key_name(public_pem: str) -> str:
    """The physical id: a name CloudFront takes for a public key (letters, digits, - and _; at most 128)."""
    return "edge-key-" + hashlib.sha256(public_pem.encode("ascii")).hexdigest()[:32]


def respond(event: dict, context, status: str, physical_id: str, data: dict, reason: str) -> None:
    body = json.dumps({
        "Status": status, "Reason": reason or f"See the log stream {getattr(context, 'log_stream_name', '')}",
        "PhysicalResourceId": physical_id, "StackId": event["StackId"], "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"], "NoEcho": False, "Data": data,
    }).encode("utf-8")
    # The pre-signed URL signs no content type: an empty one, as CloudFormation's own helpers send.
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_SECONDS) as answer:  # noqa: S310 - CloudFormation's URL
        answer.read()
