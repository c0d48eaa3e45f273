"""IAM's evaluation rules and the API-call-to-action table (devstack/iam), without AWS or moto."""

import pytest

from devstack.iam import is_secure_transport
from devstack.iam.operations import Check, UnmappedOperation, Where, checks_for
from devstack.iam.policy import Decision, PolicyError, Request, evaluate, statements

ROLE = "arn:aws:iam::123456789012:role/r"
SESSION = "arn:aws:sts::123456789012:assumed-role/r/f"
BUCKET = "arn:aws:s3:::b"
WHERE = Where("aws", "us-east-1", "123456789012")


def decide(policy_statements: list[dict], action: str, resource: str, **context) -> Decision:
    found = statements({"Statement": policy_statements}, "test")
    return evaluate(Request(action, resource, SESSION, ROLE, context), found)[0]


def allow(**fields) -> dict:
    return {"Effect": "Allow", **fields}


def test_an_allow_is_needed_and_an_explicit_deny_wins():
    get = allow(Action="s3:GetObject", Resource=f"{BUCKET}/*")
    assert decide([get], "s3:GetObject", f"{BUCKET}/k") is Decision.ALLOWED
    assert decide([get], "s3:PutObject", f"{BUCKET}/k") is Decision.IMPLICIT_DENY
    assert decide([], "s3:GetObject", f"{BUCKET}/k") is Decision.IMPLICIT_DENY
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
    assert decide([get, deny], "s3:GetObject", f"{BUCKET}/k") is Decision.EXPLICIT_DENY


def test_wildcards_actions_ignore_case_resources_do_not():
    policy = [allow(Action="S3:Get*", Resource=f"{BUCKET}/images/?/*")]
    assert decide(policy, "s3:GetObject", f"{BUCKET}/images/a/x.jpg") is Decision.ALLOWED
    assert decide(policy, "s3:getobjectversion", f"{BUCKET}/images/a/x.jpg") is Decision.ALLOWED
    assert decide(policy, "s3:GetObject", f"{BUCKET}/images/ab/x.jpg") is Decision.IMPLICIT_DENY
    assert decide(policy, "s3:GetObject", f"{BUCKET}/IMAGES/a/x.jpg") is Decision.IMPLICIT_DENY
    assert decide(policy, "s3:GetObject", "arn:aws:s3:::bb/images/a/x.jpg") is Decision.IMPLICIT_DENY
    assert decide([allow(Action="s3:GetObject", Resource="arn:aws:s3:::b[1]/*")], "s3:GetObject",
                  "arn:aws:s3:::b1/k") is Decision.IMPLICIT_DENY  # brackets are literal in IAM


def test_not_action_and_not_resource():
    policy = [allow(NotAction="s3:Delete*", NotResource=f"{BUCKET}/secret/*")]
    assert decide(policy, "s3:GetObject", f"{BUCKET}/k") is Decision.ALLOWED
    assert decide(policy, "s3:DeleteObject", f"{BUCKET}/k") is Decision.IMPLICIT_DENY
    assert decide(policy, "s3:GetObject", f"{BUCKET}/secret/k") is Decision.IMPLICIT_DENY


def test_s3_prefix_conditions_as_listings_send_them():
    policy = [allow(Action="s3:ListBucket", Resource=BUCKET, Condition={"StringLike": {"s3:prefix": "uploads/*"}})]
    assert decide(policy, "s3:ListBucket", BUCKET, **{"s3:prefix": "uploads/abc"}) is Decision.ALLOWED
    assert decide(policy, "s3:ListBucket", BUCKET, **{"s3:prefix": "uploads/"}) is Decision.ALLOWED
    assert decide(policy, "s3:ListBucket", BUCKET, **{"s3:prefix": "images/"}) is Decision.IMPLICIT_DENY
    # A listing without a prefix has no s3:prefix key: the condition does not hold.
    assert decide(policy, "s3:ListBucket", BUCKET) is Decision.IMPLICIT_DENY
    exists = [allow(Action="s3:ListBucket", Resource=BUCKET,
                    Condition={"StringLikeIfExists": {"s3:prefix": "uploads/*"}})]
    assert decide(exists, "s3:ListBucket", BUCKET) is Decision.ALLOWED


def test_a_negated_operator_holds_for_a_missing_key():
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"s3:prefix": "a"}}}
    everything = allow(Action="*", Resource="*")
    assert decide([everything, deny], "s3:ListBucket", BUCKET) is Decision.EXPLICIT_DENY
    assert decide([everything, deny], "s3:ListBucket", BUCKET, **{"s3:prefix": "a"}) is Decision.ALLOWED


def test_the_tls_only_bucket_policy_and_its_principal():
    tls_only = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [BUCKET, f"{BUCKET}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": False}}}
    get = allow(Action="s3:GetObject", Resource=f"{BUCKET}/*")
    assert decide([get, tls_only], "s3:GetObject", f"{BUCKET}/k", **{"aws:SecureTransport": "true"}) is \
        Decision.ALLOWED
    assert decide([get, tls_only], "s3:GetObject", f"{BUCKET}/k", **{"aws:SecureTransport": "false"}) is \
        Decision.EXPLICIT_DENY
    cloudfront_only = allow(Principal={"Service": "cloudfront.amazonaws.com"}, Action="s3:GetObject",
                            Resource=f"{BUCKET}/*")
    assert decide([cloudfront_only], "s3:GetObject", f"{BUCKET}/k") is Decision.IMPLICIT_DENY
    this_role = allow(Principal={"AWS": ROLE}, Action="s3:GetObject", Resource=f"{BUCKET}/*")
    assert decide([this_role], "s3:GetObject", f"{BUCKET}/k") is Decision.ALLOWED


def test_arn_conditions_and_set_qualifiers():
    source = {"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::123456789012:distribution/*"}}
    policy = [allow(Action="s3:GetObject", Resource="*", Condition=source)]
    assert decide(policy, "s3:GetObject", "x", **{"aws:SourceArn": "arn:aws:cloudfront::123456789012:distribution/E1"}
                  ) is Decision.ALLOWED
    assert decide(policy, "s3:GetObject", "x", **{"aws:SourceArn": "arn:aws:cloudfront::999999999999:distribution/E1"}
                  ) is Decision.IMPLICIT_DENY
    tags = [allow(Action="*", Resource="*", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}})]
    assert decide(tags, "s3:GetObject", "x", **{"aws:TagKeys": ["a"]}) is Decision.ALLOWED
    assert decide(tags, "s3:GetObject", "x", **{"aws:TagKeys": ["a", "c"]}) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize("statement", [
    allow(Action="s3:GetObject", Resource="arn:aws:s3:::b/${aws:username}/*"),
    allow(Action="s3:GetObject", Resource="*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}}),
    allow(Action="s3:GetObject"),
    {"Effect": "Maybe", "Action": "*", "Resource": "*"},
])
def test_what_is_not_evaluated_is_an_error_not_a_guess(statement):
    with pytest.raises(PolicyError):
        decide([statement], "s3:GetObject", "arn:aws:s3:::b/u/k")


@pytest.mark.parametrize(("operation", "params", "expected"), [
    ("HeadObject", {"Bucket": "b", "Key": "k"}, [("s3:GetObject", "arn:aws:s3:::b/k")]),
    ("GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v"}, [("s3:GetObjectVersion", "arn:aws:s3:::b/k")]),
    ("DeleteObject", {"Bucket": "b", "Key": "k"}, [("s3:DeleteObject", "arn:aws:s3:::b/k")]),
    ("DeleteObject", {"Bucket": "b", "Key": "k", "VersionId": "v"}, [("s3:DeleteObjectVersion", "arn:aws:s3:::b/k")]),
    ("ListObjectsV2", {"Bucket": "b"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
    ("ListObjectVersions", {"Bucket": "b"}, [("s3:ListBucketVersions", "arn:aws:s3:::b")]),
    ("HeadBucket", {"Bucket": "b"}, [("s3:ListBucket", "arn:aws:s3:::b")]),
    ("PutObject", {"Bucket": "b", "Key": "k", "ACL": "public-read"},
     [("s3:PutObject", "arn:aws:s3:::b/k"), ("s3:PutObjectAcl", "arn:aws:s3:::b/k")]),
    ("CopyObject", {"Bucket": "b", "Key": "k", "CopySource": "src/a/b"},
     [("s3:GetObject", "arn:aws:s3:::src/a/b"), ("s3:PutObject", "arn:aws:s3:::b/k")]),
    ("DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "x"}, {"Key": "y", "VersionId": "v"}]}},
     [("s3:DeleteObject", "arn:aws:s3:::b/x"), ("s3:DeleteObjectVersion", "arn:aws:s3:::b/y")]),
])
def test_each_s3_call_is_the_action_aws_authorizes(operation, params, expected):
    assert [(c.action, c.resource) for c in checks_for("s3", operation, params, WHERE)] == expected


def test_listings_carry_their_prefix_as_a_condition_key():
    (check,) = checks_for("s3", "ListObjectsV2", {"Bucket": "b", "Prefix": "uploads/x", "MaxKeys": 1}, WHERE)
    assert check.context == {"s3:prefix": "uploads/x", "s3:max-keys": "1"}


def test_other_services_name_their_resources():
    assert checks_for("cloudfront", "CreateInvalidation", {"DistributionId": "E1"}, WHERE) == [
        Check("cloudfront:CreateInvalidation", "arn:aws:cloudfront::123456789012:distribution/E1")]
    (send,) = checks_for("sqs", "SendMessage", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q"},
                         WHERE)
    assert send.resource == "arn:aws:sqs:us-east-1:123456789012:q"


def test_an_unmapped_call_is_an_error():
    with pytest.raises(UnmappedOperation, match="s3:PutBucketAcl"):
        checks_for("s3", "PutBucketAcl", {"Bucket": "b"}, WHERE)


@pytest.mark.parametrize(("endpoint", "secure"), [
    ("https://s3.us-east-1.amazonaws.com", True), ("http://127.0.0.1:4566", True), ("http://localhost:9000", True),
    ("http://[::1]:4566", True), ("http://s3.example.com", False), ("http://10.0.0.5:4566", False),
])
def test_secure_transport_is_tls_or_this_machine(endpoint, secure):
    assert is_secure_transport(endpoint) is secure


def test_parliament_finds_nothing_unexplained_and_would_have_flagged_sams_write_policy(tmp_path):
    """scripts/lint_policies.py, which `make lint` runs: clean today; the S3WritePolicy it replaced let a
    function rewrite its bucket's lifecycle, which parliament calls a privilege escalation."""
    from repo_paths import ROOT as root
    from scripts import lint_policies

    current = lint_policies.findings(root / "template.yaml")
    assert set(current) == set(lint_policies.EXPLAINED)
    text = (root / "template.yaml").read_text()
    marker = "        - Statement:\n            # New originals only"
    assert marker in text
    old = text.replace(marker, "        - S3WritePolicy:\n            BucketName: !Sub\n"
                               "              - stored-images-${StackUuid}\n"
                               "              - StackUuid: !Select [2, !Split [\"/\", !Ref AWS::StackId]]\n"
                               "        - Statement:\n            # New originals only")
    (tmp_path / "template.yaml").write_text(old)
    flagged = lint_policies.findings(tmp_path / "template.yaml")
    upload_policy = "role UploadFunctionRole, policy UploadFunctionRolePolicy0"
    assert (upload_policy, "RESOURCE_POLICY_PRIVILEGE_ESCALATION") in flagged
