"""docs/openapi.yaml: a valid OpenAPI 3.1 document of exactly the template's routes, whose schemas and
enums are the ones the code uses, and which the code's own answers satisfy."""

import io
import re
from pathlib import Path

import imaging
import jsonschema
import pytest
import schemathesis
import yaml
from imageservice import errors
from imageservice.config import Config
from imageservice.http import error_body
from imageservice.keys import is_image_id, new_image_id
from imageservice.manifest import Manifest
from imageservice.options import FILTERS, MAX_FILTERS, OUTPUT_FORMATS
from imageservice.sniff import ACCEPTED_CONTENT_TYPES, IMAGE_CONTENT_TYPES
from openapi_spec_validator import validate
from PIL import Image, ImageDraw
from processing import render
from status import MAX_WAIT_SECONDS, api_view, processing_options

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(OPENAPI_PATH.read_text())


@pytest.fixture(scope="module")
def config(stack) -> Config:
    return Config.from_environ(stack.functions["ProcessFunction"].environment)


def operations(document: dict):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validator(document: dict, name: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) for one component schema."""
    schema = {"$defs": {}, "components": document["components"], "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def error_codes(document: dict, schema: dict) -> set[str]:
    """The codes an error schema allows: its `const` or `enum` under error.code."""
    schema = resolve(document, schema)
    for part in schema.get("allOf", []):
        code = part.get("properties", {}).get("error", {}).get("properties", {}).get("code")
        if code:
            return {code["const"]} if "const" in code else set(code["enum"])
    code = schema["properties"]["error"]["properties"]["code"]
    return {code["const"]} if "const" in code else set(code["enum"])


def test_the_document_is_valid_openapi_31(document):
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_schemathesis_loads_every_operation():
    schema = schemathesis.openapi.from_path(str(OPENAPI_PATH))
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert len(labels) == 10


def test_the_paths_are_exactly_the_template_routes(document, stack):
    in_template = {(route.method, route.path) for function in stack.functions.values() for route in function.routes}
    in_document = {(method, path) for method, path, _ in operations(document)}
    assert in_document == in_template
    assert all(path.startswith("/api/") for _, path in in_document)


def test_every_answer_has_a_schema_and_every_error_a_code_enum(document):
    all_codes = set()
    for method, path, operation in operations(document):
        responses = operation["responses"]
        assert "500" in responses, f"{method} {path} documents no 500"
        for status, response in responses.items():
            response = resolve(document, response)
            if status in ("204", "302"):
                assert "content" not in response
                continue
            content = response.get("content", {})
            assert list(content) == ["application/json"], f"{method} {path} {status}"
            schema = content["application/json"]["schema"]
            if status.startswith(("4", "5")) and status != "422":
                codes = error_codes(document, schema)
                assert codes, f"{method} {path} {status} has no code enum"
                all_codes |= codes
    # Every error class the handlers can raise is documented somewhere, and nothing else is.
    raised = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, errors.AppError)}
    assert all_codes == raised


def test_failed_codes_are_the_processing_rejections(document):
    rejections = {cls.code for cls in (imaging.CorruptImage, imaging.ImageTooLarge, imaging.UnsupportedImage,
                                       imaging.ImageTooComplex, imaging.ProcessingTimeout)}
    documented = set(document["components"]["schemas"]["ProcessingError"]["properties"]["code"]["enum"])
    assert documented == rejections | {errors.InvalidOption.code, "processing_timeout"}


def test_enums_and_limits_are_the_codes(document):
    schemas = document["components"]["schemas"]
    assert tuple(schemas["OutputFormat"]["enum"]) == OUTPUT_FORMATS
    assert tuple(schemas["Filter"]["enum"]) == FILTERS == imaging.FILTERS
    assert schemas["Filters"]["maxItems"] == MAX_FILTERS
    assert set(IMAGE_CONTENT_TYPES.values()) <= set(schemas["AcceptedContentType"]["enum"])
    assert set(schemas["AcceptedContentType"]["enum"]) == ACCEPTED_CONTENT_TYPES
    assert set(schemas["SourceFormat"]["enum"]) == set(IMAGE_CONTENT_TYPES)
    wait = document["paths"]["/api/images/{id}"]["get"]["parameters"][0]["schema"]
    assert (wait["minimum"], wait["maximum"]) == (0, MAX_WAIT_SECONDS)
    quality = schemas["Quality"]
    assert (quality["minimum"], quality["maximum"]) == (1, 100)


def test_the_image_id_pattern_is_the_server_check(document):
    # JSON Schema patterns are ECMA-262, where `$` is the end of the text; Python's `$` also matches before
    # a final newline, so the check below spells it \Z.
    source = document["components"]["schemas"]["ImageId"]["pattern"]
    assert source.startswith("^") and source.endswith("$")
    pattern = re.compile(source[:-1] + r"\Z")
    for candidate in [new_image_id() for _ in range(20)] + [
        "3F0C9A56-8D1E-4C1B-9A59-2F4D6C7B8E90", "3f0c9a56-8d1e-1c1b-9a59-2f4d6c7b8e90", "not-an-id", "",
        "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90\n",
    ]:
        assert bool(pattern.search(candidate)) == is_image_id(candidate), candidate


def test_upload_bodies_are_raw_image_octet_stream_or_multipart_file(document):
    content = document["paths"]["/api/images"]["post"]["requestBody"]["content"]
    assert set(content) == {"image/*", "application/octet-stream", "multipart/form-data"}
    multipart = content["multipart/form-data"]["schema"]
    assert multipart["required"] == ["file"]
    params = {p["$ref"].rsplit("/", 1)[1] for p in document["paths"]["/api/images"]["post"]["parameters"]}
    assert params == {"Format", "Quality", "Filters", "FileName"}


def sample_image() -> bytes:
    image = Image.linear_gradient("L").resize((96, 64)).convert("RGB")
    ImageDraw.Draw(image).ellipse((20, 10, 70, 50), fill=(220, 60, 40))
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "ExampleCam"
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


class PresigningStub:
    def generate_presigned_url(self, operation, Params, ExpiresIn):  # noqa: N803 - boto3's spelling
        return f"https://bucket.s3.amazonaws.com/{Params['Key']}?X-Amz-Expires={ExpiresIn}&X-Amz-Signature=abc"


def test_the_code_answers_match_their_schemas(document, config):
    image_id = new_image_id()
    metadata = {"format": "webp", "filters": "sepia", "original-name": "sample%20photo"}
    manifest, _ = render(image_id, sample_image(), metadata, config)
    assert manifest.status == "done" and manifest.original.name == "sample photo"
    assert manifest.variants[0].aliases == ("medium", "thumb")  # 96 × 64: every variant is the same image
    validator(document, "ImageDone").validate(api_view(PresigningStub(), config, manifest))
    failed = Manifest.failed(image_id, "corrupt_image", "The image data is damaged.")
    validator(document, "ImageFailed").validate(api_view(PresigningStub(), config, failed))
    validator(document, "ImagePending").validate({"id": image_id, "status": "pending"})
    validator(document, "Options").validate(processing_options(config))
    validator(document, "NotFound").validate(error_body("not_found", "No image has this id."))
    with pytest.raises(jsonschema.ValidationError):
        validator(document, "NotFound").validate(error_body("bad_request", "Not this one."))
    with pytest.raises(jsonschema.ValidationError):
        validator(document, "ImageDone").validate({**api_view(PresigningStub(), config, manifest), "key": "x"})
