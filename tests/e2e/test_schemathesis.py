"""The running local stack against docs/openapi.yaml, with schemathesis.

Every operation gets seeded, derandomized examples, valid and invalid (schemathesis's positive and
negative modes), a bounded number per operation. Every answer must be no 5xx, a documented status, of
the documented content type, with a body that matches the documented schema (including the error code
enum of that answer) and the documented headers. Random ids only ever reach unknown images, so a second
group of tests drives the answers about real images (done, failed, pending, the redirect) through the
same schema checks."""

import collections
import io
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.e2e

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES_PER_OPERATION = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


def load_schema():
    schema = schemathesis.openapi.from_path(OPENAPI_PATH)
    schema.config.update(request_timeout=30)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES_PER_OPERATION,
        deterministic=True,
        database="none",
    )
    return schema


# Loaded at import, from the file; the stack's address comes from the base_url fixture at call time
# (schemathesis.pytest.from_fixture, the lazy loader, does not run under pytest 9).
schema = load_schema()


@pytest.fixture(scope="session")
def api_schema(base_url):
    loaded = load_schema()
    loaded.config.update(base_url=base_url)
    return loaded


# Requests sent, per operation and status: printed at the end of the module as the run's figures.
TRIED: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def _write_figures(config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if not TRIED or reporter is None:
        return
    total = sum(sum(statuses.values()) for statuses in TRIED.values())
    reporter.write_line(f"schemathesis: {total} requests over {len(TRIED)} operations")
    for label, statuses in TRIED.items():
        counts = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
        reporter.write_line(f"  {label:34} {sum(statuses.values()):4}  {counts}")


@pytest.fixture(autouse=True)
def report_figures(request):
    """Print the figures once, when the session ends."""
    if not getattr(request.config, "_schemathesis_figures", False):
        request.config._schemathesis_figures = True
        request.config.add_cleanup(lambda: _write_figures(request.config))


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case, base_url):
    # ?wait= holds a request for up to 20 s; random ids are unknown (404 at once), but keep the run short.
    if case.query and isinstance(case.query.get("wait"), int):
        case.query["wait"] = min(case.query["wait"], 1)
    response = case.call(base_url=base_url, allow_redirects=False)
    TRIED[f"{case.operation.method.upper()} {case.operation.path}"][response.status_code] += 1
    case.validate_response(response, checks=CHECKS)


# ----------------------------------------------------------- answers about real images, schema-checked

def _png(width: int = 320, height: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


def _operation(api_schema, method: str, path: str):
    return api_schema[path][method]


def _validated(api_schema, method: str, path: str, **parts):
    case = _operation(api_schema, method, path).Case(**parts)
    return case.call_and_validate(checks=CHECKS, allow_redirects=False)


def _wait_for_outcome(base_url: str, image_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if requests.get(f"{base_url}/api/images/{image_id}", params={"wait": 5}, timeout=30).status_code != 202:
            return
    raise AssertionError(f"{image_id} was still pending after {timeout} s")


@pytest.mark.parametrize("media_type", ["image/png", "application/octet-stream", "multipart/form-data"])
def test_an_accepted_upload_and_its_lifecycle_conform(api_schema, base_url, media_type):
    body = {"file": _png()} if media_type == "multipart/form-data" else _png()
    accepted = _validated(api_schema, "POST", "/api/images", body=body, media_type=media_type,
                          query={"format": "webp", "filters": ["sepia"]})
    assert accepted.status_code == 202
    image_id = accepted.json()["id"]
    pending = _validated(api_schema, "GET", "/api/images/{id}", path_parameters={"id": image_id})
    assert pending.status_code in (200, 202)

    _wait_for_outcome(base_url, image_id)
    done = _validated(api_schema, "GET", "/api/images/{id}", path_parameters={"id": image_id})
    assert done.status_code == 200 and done.json()["status"] == "done"
    redirect = _validated(api_schema, "GET", "/api/images/{id}/{variant}",
                          path_parameters={"id": image_id, "variant": "thumb"})
    assert redirect.status_code == 302
    missing = _validated(api_schema, "GET", "/api/images/{id}/{variant}",
                         path_parameters={"id": image_id, "variant": "huge"})
    assert missing.status_code == 404
    deleted = _validated(api_schema, "DELETE", "/api/images/{id}", path_parameters={"id": image_id})
    assert deleted.status_code == 204
    gone = _validated(api_schema, "GET", "/api/images/{id}", path_parameters={"id": image_id})
    assert gone.status_code == 404


def test_a_failed_image_conforms(api_schema, base_url):
    damaged = _png()[:400]  # a PNG signature and header, then nothing: accepted, then fails
    accepted = _validated(api_schema, "POST", "/api/images", body=damaged, media_type="image/png")
    image_id = accepted.json()["id"]
    _wait_for_outcome(base_url, image_id)
    failed = _validated(api_schema, "GET", "/api/images/{id}", path_parameters={"id": image_id})
    assert failed.status_code == 422 and failed.json()["error"]["code"] == "corrupt_image"
    variant = _validated(api_schema, "GET", "/api/images/{id}/{variant}",
                         path_parameters={"id": image_id, "variant": "thumb"})
    assert variant.status_code == 422


def test_a_granted_upload_conforms(api_schema):
    granted = _validated(api_schema, "POST", "/api/uploads", body={"content_type": "image/png", "quality": 70},
                         media_type="application/json")
    assert granted.status_code == 201
    refused = _validated(api_schema, "POST", "/api/uploads", body={"content_type": "image/svg+xml"},
                         media_type="application/json")
    assert refused.status_code == 415


def test_the_refusals_conform(api_schema, direct_upload_max_bytes):
    too_large = _validated(api_schema, "POST", "/api/images", body=b"\xff\xd8\xff" + bytes(direct_upload_max_bytes),
                           media_type="image/jpeg")
    assert too_large.status_code == 413
    not_an_image = _validated(api_schema, "POST", "/api/images", body=b"<svg/>", media_type="image/png")
    assert not_an_image.status_code == 415
    empty = _validated(api_schema, "POST", "/api/images", body=b"", media_type="application/octet-stream")
    assert empty.status_code == 400
    bad_wait = _validated(api_schema, "GET", "/api/images/{id}",
                          path_parameters={"id": "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90"}, query={"wait": 21})
    assert bad_wait.status_code == 400
