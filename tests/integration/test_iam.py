"""Every function runs under its role's policies from the SAM-transformed template (devstack/iam), and each
statement we wrote is needed: drop it from the rendered policy and the function's own calls are refused as
AWS refuses them (AccessDenied, 403), while with the whole policy nothing is refused."""

import copy

import pytest
from botocore.exceptions import ClientError
from imageservice.keys import invalidation_key, new_image_id, upload_key

# Every statement of the functions' roles that the template spells out (by Sid), and what must fail without
# it. PublishFunction's statements are tested with the publisher (test_publish.py).
AUTHORED_STATEMENTS = {
    ("UploadFunction", "StoreOriginals"),
    ("UploadFunction", "WritePendingStatus"),
    ("PresignFunction", "ReadManifestsAndVariants"),
    ("PresignFunction", "TellMissingManifests"),
    ("PresignFunction", "ListOriginals"),
    ("DeleteFunction", "ListOriginals"),
    ("DeleteFunction", "ListVariants"),
    ("DeleteFunction", "DeleteImages"),
    ("DeleteFunction", "WriteTombstones"),
    ("DeleteFunction", "RequestInvalidations"),
    ("RenderFunction", "ReadOriginals"),
    ("RenderFunction", "TellMissingOriginals"),
    ("RenderFunction", "ReadManifests"),
    ("RenderFunction", "TellMissingManifests"),
    ("RenderFunction", "WriteDerivedImages"),
    ("InvalidateFunction", "InvalidateDerivedImages"),
    ("ProcessFunction", "ReadOriginals"),
    ("ProcessFunction", "TellMissingOriginals"),
    ("ProcessFunction", "WriteVariantsAndManifests"),
    ("ProcessFunction", "ReadManifests"),
    ("ProcessFunction", "TellMissingManifests"),
    ("ProcessFunction", "RemoveUnpublished"),
    ("ProcessFunction", "WriteStatus"),
}
PUBLISHER_STATEMENTS = {("PublishFunction", "ListSite"), ("PublishFunction", "SyncSiteFiles"),
                        ("PublishFunction", "InvalidateSite")}


# Statements only AuthMode cognito or oidc gives (conditional policies): tests/integration/test_session.py drops
# each and shows its function refused.
SIGNED_IN_STATEMENTS = {("SessionFunction", "ReadSigningKey")}


def role_statements(rendered: dict, function: str) -> list[dict]:
    """Every statement the function's role may have, whatever the AuthMode (both sides of a conditional policy)."""
    role = rendered["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = []
    for policy in rendered["Resources"][role]["Properties"]["Policies"]:
        policies += policy["Fn::If"][1:] if set(policy) == {"Fn::If"} else [policy]
    return [statement for policy in policies if "PolicyDocument" in policy
            for statement in policy["PolicyDocument"]["Statement"]]


def without_statement(rendered: dict, function: str, sid: str) -> dict:
    narrowed = copy.deepcopy(rendered)
    role = narrowed["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0]
    for policy in narrowed["Resources"][role]["Properties"]["Policies"]:
        statements = policy["PolicyDocument"]["Statement"]
        policy["PolicyDocument"]["Statement"] = [s for s in statements if s.get("Sid") != sid]
    return narrowed


def test_every_authored_statement_is_named_and_covered_here(rendered_template, stack):
    """A statement added to a role without a Sid, or without a case below, fails here."""
    named = set()
    for function in stack.functions:
        for statement in role_statements(rendered_template, function):
            if statement.get("Sid"):
                named.add((function, statement["Sid"]))
            else:  # only SAM's own statement for ProcessFunction's on-failure destination has no Sid
                assert statement["Action"] == "sqs:SendMessage" and function == "ProcessFunction", statement
    assert named == AUTHORED_STATEMENTS | PUBLISHER_STATEMENTS | SIGNED_IN_STATEMENTS


class Outcome:
    """What each function's calls came to: the HTTP status, or the AWS error code a handler raised."""

    def __init__(self):
        self.results: dict[str, list] = {}

    def record(self, function: str, call):
        try:
            response = call()
            result = response["statusCode"] if isinstance(response, dict) and "statusCode" in response else "ok"
        except ClientError as error:
            result = error.response["Error"]["Code"]
        self.results.setdefault(function, []).append(result)


@pytest.fixture
def exercise(invoke, load_event, http_event, photo, s3, config, process):
    """Every call each function makes: uploads both ways, processing of a present and a gone original and of
    a second original under a finished image, the status of a done and a pending image, a variant, the
    health check, and a delete."""
    def run() -> Outcome:
        outcome = Outcome()
        event = http_event(load_event("upload_post_image.json"), body=photo(), query={})
        outcome.record("UploadFunction", lambda: invoke("UploadFunction", event))
        outcome.record("UploadFunction", lambda: invoke("UploadFunction", load_event("upload_post_uploads.json")))

        done, pending, gone, shown = new_image_id(), new_image_id(), new_image_id(), new_image_id()
        for image_id in (done, pending, shown):  # put by the test itself, which IAM does not judge
            s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=photo(),
                          ContentType="image/jpeg")
        outcome.record("ProcessFunction", lambda: process(done))
        outcome.record("ProcessFunction", lambda: process(gone))
        outcome.record("ProcessFunction", lambda: process(shown))
        s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(done), Body=photo("PNG"),
                      ContentType="image/png")  # the upload ticket used again: processing removes it
        outcome.record("ProcessFunction", lambda: process(done))

        def get(path: str, parameters: dict, sample: str = "presign_get_image.json"):
            return invoke("PresignFunction", http_event(load_event(sample), path=path, path_parameters=parameters))
        outcome.record("PresignFunction", lambda: get(f"/api/images/{done}", {"id": done}))
        outcome.record("PresignFunction", lambda: get(f"/api/images/{pending}", {"id": pending}))
        outcome.record("PresignFunction", lambda: get(f"/api/images/{done}/thumb", {"id": done, "variant": "thumb"},
                                                      "presign_get_variant.json"))
        outcome.record("PresignFunction", lambda: invoke("PresignFunction", load_event("presign_health.json")))

        def render(image_id: str):
            return invoke("RenderFunction", http_event(load_event("render_get.json"), path=f"/img/{image_id}/320.webp"))
        outcome.record("RenderFunction", lambda: render(shown))  # stored
        outcome.record("RenderFunction", lambda: render(done))  # its original removed: not_found, not a 403
        outcome.record("RenderFunction", lambda: render(gone))  # no manifest: not_found, not a 403

        invalidation = load_event("invalidate_put.json")
        invalidation["Records"][0]["s3"]["object"]["key"] = invalidation_key(done)
        outcome.record("InvalidateFunction", lambda: invoke("InvalidateFunction", invalidation))

        delete = http_event(load_event("delete_image.json"), path=f"/api/images/{done}", path_parameters={"id": done})
        outcome.record("DeleteFunction", lambda: invoke("DeleteFunction", delete))
        return outcome
    return run


def test_with_the_whole_policies_nothing_is_refused(exercise, iam):
    outcome = exercise()
    assert iam.enforcer.refused == []
    assert outcome.results == {
        "UploadFunction": [202, 201],
        "ProcessFunction": ["ok", "ok", "ok", "ok"],
        "PresignFunction": [200, 202, 302, 200],
        "RenderFunction": [200, 404, 404],
        "InvalidateFunction": ["ok"],
        "DeleteFunction": [204],
    }


@pytest.fixture
def dropped(request) -> tuple[str, str] | None:
    """(function, Sid) of the statement a test drops from the rendered template; None keeps them all."""
    return getattr(request, "param", None)


@pytest.fixture
def iam_template(rendered_template, dropped):
    return rendered_template if dropped is None else without_statement(rendered_template, *dropped)


@pytest.mark.parametrize("dropped", sorted(AUTHORED_STATEMENTS), indirect=True, ids="-".join)
def test_without_any_one_statement_its_function_is_refused(exercise, iam, dropped, rendered_template):
    function, sid = dropped
    (statement,) = [s for s in role_statements(rendered_template, function) if s.get("Sid") == sid]
    actions = {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])

    outcome = exercise()

    refused = iam.enforcer.refused
    assert refused, f"{function} needs no {sid}?"
    assert {r.identity.function for r in refused} == {function}
    assert {r.check.action for r in refused} <= actions
    # What the function saw: a 403 from S3 (raised, or a 500 from the API), or a DeleteObjects error per key.
    assert any(result in ("AccessDenied", "403", 500) for result in outcome.results[function]) or (
        sid == "DeleteImages"), outcome.results


def test_a_refused_call_fails_as_aws_answers_it(invoke, load_event, http_event, photo, iam, rendered_template,
                                               config):
    """The ClientError a handler sees is S3's: AccessDenied, HTTP 403, naming the role session and resource."""
    from imageservice.aws import s3_client

    from devstack.iam import acting_as

    with acting_as("PresignFunction"), pytest.raises(ClientError) as refused:
        s3_client().put_object(Bucket=config.processed_images_bucket, Key="images/x/manifest.json", Body=b"{}")
    error = refused.value.response
    assert error["Error"]["Code"] == "AccessDenied"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "assumed-role/image-processing-local-PresignFunctionRole/PresignFunction" in error["Error"]["Message"]
    assert f'"arn:aws:s3:::{config.processed_images_bucket}/images/x/manifest.json"' in error["Error"]["Message"]

    with acting_as("PresignFunction"), pytest.raises(ClientError) as head:
        s3_client().head_object(Bucket=config.stored_images_bucket, Key=upload_key(new_image_id()))
    assert head.value.response["Error"]["Code"] == "403"  # HEAD answers carry no body, so no code either


def test_a_presigned_url_the_role_may_not_use_is_refused_where_it_is_signed(iam, config):
    from imageservice.aws import s3_client

    from devstack.iam import acting_as

    with acting_as("UploadFunction"):
        s3_client().generate_presigned_post(Bucket=config.stored_images_bucket, Key=upload_key(new_image_id()))
        with pytest.raises(ClientError, match="s3:PutObject"):
            s3_client().generate_presigned_post(Bucket=config.processed_images_bucket, Key="images/x/large.jpg")
        with pytest.raises(ClientError, match="s3:GetObject"):
            s3_client().generate_presigned_url("get_object", Params={"Bucket": config.stored_images_bucket,
                                                                     "Key": upload_key(new_image_id())})


def test_the_test_itself_is_not_judged(s3, config, iam):
    s3.put_bucket_lifecycle_configuration(Bucket=config.processed_images_bucket, LifecycleConfiguration={
        "Rules": [{"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]})
    assert iam.enforcer.refused == []


def test_no_function_may_change_a_bucket_or_its_lifecycle(iam, stack):
    """What SAM's S3WritePolicy/S3CrudPolicy granted and nothing here needs: bucket configuration and ACLs."""
    from devstack.iam.operations import Check

    for function in stack.functions:
        for bucket in stack.buckets.values():
            arn = f"arn:aws:s3:::{bucket.name}"
            for check in (Check("s3:PutLifecycleConfiguration", arn), Check("s3:PutBucketPolicy", arn),
                          Check("s3:DeleteBucket", arn), Check("s3:PutObjectAcl", f"{arn}/uploads/x"),
                          Check("s3:PutObjectAcl", f"{arn}/images/x/large.jpg"),
                          Check("s3:ListBucketVersions", arn), Check("s3:DeleteObjectVersion", f"{arn}/x")):
                assert iam.enforcer.decide(function, check, secure_transport=True) is not None, (function, check)


def test_tls_only_bucket_policies_refuse_plain_http_off_the_machine(iam, stack, config):
    """The buckets' DenyInsecureTransport statement: a function that may read a key over TLS may not over http."""
    from devstack.iam.operations import Check

    manifest = Check("s3:GetObject", f"arn:aws:s3:::{config.processed_images_bucket}/images/x/manifest.json")
    assert iam.enforcer.decide("PresignFunction", manifest, secure_transport=True) is None
    refusal = iam.enforcer.decide("PresignFunction", manifest, secure_transport=False)
    assert refusal is not None and "explicit deny" in refusal.message
