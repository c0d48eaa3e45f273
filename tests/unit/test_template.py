"""template.yaml is the single source of truth; these tests pin what the code relies on."""

import json
from pathlib import Path

import pytest
from imageservice.config import Config
from imageservice.keys import UPLOAD_PREFIX

API_ROUTES = {
    ("GET", "/api/images"): "PresignFunction",
    ("POST", "/api/images"): "UploadFunction",
    ("POST", "/api/uploads"): "UploadFunction",
    ("GET", "/api/images/{id}"): "PresignFunction",
    ("GET", "/api/images/{id}/{variant}"): "PresignFunction",
    ("GET", "/api/options"): "PresignFunction",
    ("GET", "/api/health"): "PresignFunction",
    ("DELETE", "/api/images/{id}"): "DeleteFunction",
    ("POST", "/api/session"): "SessionFunction",
    ("DELETE", "/api/session"): "SessionFunction",
}
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"


def resources_of_type(template, type_name):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == type_name}


def test_routes_are_the_api_contract(stack):
    routes = {(route.method, route.path): f.logical_id for f in stack.functions.values() for route in f.routes}
    assert routes == API_ROUTES


def test_every_function_environment_parses_into_the_config(stack):
    for function in stack.functions.values():
        config = Config.from_environ(function.environment)
        assert config.stored_images_bucket == stack.bucket_name("StoredImagesBucket")
        assert config.processed_images_bucket == stack.bucket_name("ProcessedImagesBucket")


def test_parameter_defaults_are_the_documented_ones(stack):
    config = Config.from_environ(stack.functions["ProcessFunction"].environment)
    assert config.max_pixels == 50_000_000
    assert [(v.name, v.long_edge) for v in config.variants] == [("large", 2048), ("medium", 1024), ("thumb", 256)]
    assert config.url_expires_seconds == 900
    assert config.default_quality == 82
    # Bodies reach Lambda base64 encoded (4/3 larger) and the invocation payload limit is 6 MB.
    assert config.direct_upload_max_bytes * 4 / 3 < 6 * 1024 * 1024 - 64 * 1024


def test_process_trigger_matches_the_key_layout(stack):
    (trigger,) = stack.functions["ProcessFunction"].s3_triggers
    assert trigger.bucket_logical_id == "StoredImagesBucket"
    assert trigger.prefix == UPLOAD_PREFIX
    assert trigger.events == ("s3:ObjectCreated:*",)


def test_handlers_exist_and_runtime_is_python313_arm64(template, stack):
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    for function in stack.functions.values():
        module, _ = function.handler.rsplit(".", 1)
        assert (function.code_dir / f"{module}.py").is_file()


def test_processing_failures_are_retried_a_bounded_number_of_times_then_kept(template):
    config = template["Resources"]["ProcessFunction"]["Properties"]["EventInvokeConfig"]
    assert 0 <= config["MaximumRetryAttempts"] <= 2
    destination = config["DestinationConfig"]["OnFailure"]
    assert destination["Type"] == "SQS"
    assert destination["Destination"] == {"Fn::GetAtt": ["ProcessFailureQueue", "Arn"]}


def test_every_function_names_the_stored_bucket_without_a_cycle(template, stack):
    # Every function names the stored-images bucket, never refers to it: ProcessFunction is triggered by it,
    # and its CORS origin is the distribution, which refers to the API, which refers to the API's functions.
    for logical_id in stack.functions:
        policies = json.dumps(template["Resources"][logical_id]["Properties"].get("Policies", []))
        assert "StoredImagesBucket" not in policies, logical_id
    assert stack.functions["ProcessFunction"].environment["STORED_IMAGES_BUCKET"] == stack.bucket_name(
        "StoredImagesBucket")


@pytest.mark.parametrize("bucket", ["StoredImagesBucket", "ProcessedImagesBucket"])
def test_buckets_are_private_encrypted_tls_only_and_expire(template, bucket):
    props = template["Resources"][bucket]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert "ExpireDays" in json.dumps(props["LifecycleConfiguration"])  # tests/unit/test_template_deploy.py: 0 keeps
    policies = [r for r in resources_of_type(template, "AWS::S3::BucketPolicy").values()
                if r["Properties"]["Bucket"] == {"Ref": bucket}]
    statement, *grants = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    # The grants: the distribution reads derived images (GET /img/...) and status objects (GET /status/...), and
    # nothing else (no variant, manifest or original).
    assert [(g["Principal"], g["Action"], g["Resource"]) for g in grants] == (
        [] if bucket == "StoredImagesBucket" else
        [({"Service": "cloudfront.amazonaws.com"}, "s3:GetObject", {"Fn::Sub": "${ProcessedImagesBucket.Arn}/img/*"}),
         ({"Service": "cloudfront.amazonaws.com"}, "s3:GetObject",
          {"Fn::Sub": "${ProcessedImagesBucket.Arn}/status/*"})])


def test_originals_expire_by_a_parameter_defaulting_to_30_days(template):
    assert template["Parameters"]["OriginalsExpireDays"]["Default"] == 30


def test_outputs_name_the_api_and_both_buckets(template):
    assert {"ApiUrl", "StoredImagesBucketName", "ProcessedImagesBucketName"} <= set(template["Outputs"])


def test_there_is_a_sample_event_for_every_route_and_the_trigger(stack):
    events = [json.loads(path.read_text()) for path in EVENTS_DIR.glob("*.json")]
    route_keys = {e["routeKey"] for e in events if "routeKey" in e}
    missing = {f"{m} {p}" for (m, p) in API_ROUTES} - route_keys
    assert not missing
    assert any(e.get("Records", [{}])[0].get("eventName", "").startswith("ObjectCreated:") for e in events)


def test_process_memory_is_a_parameter(template):
    assert template["Resources"]["ProcessFunction"]["Properties"]["MemorySize"] == {"Ref": "ProcessMemorySize"}
    assert template["Parameters"]["ProcessMemorySize"]["Default"] >= 1769  # one vCPU or more
