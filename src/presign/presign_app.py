"""PresignFunction: image status with pre-signed URLs, variant redirects and the health check."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from imageservice.aws import s3_client
from imageservice.config import get_config
from imageservice.errors import NotFound
from imageservice.http import json_response, make_resolver
from imageservice.manifest import DONE, Manifest
from imageservice.owners import caller, list_owned, require_owner
from status import (
    RESPONSE_STATUS,
    RETRY_AFTER_SECONDS,
    api_view,
    buckets_reachable,
    image_state,
    owned_images,
    parse_list_query,
    parse_wait,
    processing_options,
    variant_url,
)

logger = Logger()
app = make_resolver()


@app.get("/api/images")
def list_images():
    owner = caller(app.current_event.raw_event, get_config())
    if owner is None:  # AuthMode none: no one owns anything, and the route is as absent as any unknown one
        raise NotFound("There is nothing at this address.")
    limit, cursor = parse_list_query(app.current_event.query_string_parameters or {})
    page, next_cursor = list_owned(s3_client(), get_config(), owner, limit, cursor)
    return json_response(200, owned_images(s3_client(), get_config(), page, next_cursor))


@app.get("/api/images/<image_id>")
def get_image(image_id: str):
    wait = parse_wait(app.current_event.get_query_string_value("wait"))
    require_owner(s3_client(), get_config(), caller(app.current_event.raw_event, get_config()), image_id)
    return _image_response(image_state(s3_client(), get_config(), image_id, wait))


@app.get("/api/images/<image_id>/<variant>")
def get_variant(image_id: str, variant: str):
    require_owner(s3_client(), get_config(), caller(app.current_event.raw_event, get_config()), image_id)
    manifest = image_state(s3_client(), get_config(), image_id)
    if manifest.status != DONE:
        return _image_response(manifest)
    return json_response(302, None, {"Location": variant_url(s3_client(), get_config(), manifest, variant)})


@app.get("/api/options")
def get_options():
    return json_response(200, processing_options(get_config()), {"Cache-Control": "max-age=300"})


@app.get("/api/health")
def health():
    buckets_reachable(s3_client(), get_config())
    return json_response(200, {"status": "ok"})


def _image_response(manifest: Manifest):
    status = RESPONSE_STATUS[manifest.status]
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 202 else None
    return json_response(status, api_view(s3_client(), get_config(), manifest), headers)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(image_id=(event.get("pathParameters") or {}).get("id"))
    return app.resolve(event, context)
