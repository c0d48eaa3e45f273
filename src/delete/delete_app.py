"""DeleteFunction: DELETE /api/images/{id}."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from deletion import delete_image
from imageservice.aws import s3_client
from imageservice.config import get_config
from imageservice.http import json_response, make_resolver
from imageservice.keys import owner_hash
from imageservice.owners import caller, forget_owner, require_owner
from imageservice.tracing import get_tracer

logger = Logger()
tracer = get_tracer()
app = make_resolver()


@app.delete("/api/images/<image_id>")
def remove_image(image_id: str):
    owner = caller(app.current_event.raw_event, get_config())
    created_ms = require_owner(s3_client(), get_config(), owner, image_id)
    deleted = delete_image(s3_client(), get_config(), image_id, owner_hash(owner) if owner is not None else None)
    if owner is not None:
        forget_owner(s3_client(), get_config(), owner, image_id, created_ms)
    logger.info("image deleted", extra={"objects": deleted})
    return json_response(204)


# Every log line carries the API's request id (the access log's requestId) as its correlation_id, and the
# image's id when the path names one.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    image_id = (event.get("pathParameters") or {}).get("id")
    logger.append_keys(image_id=image_id)
    tracer.put_annotation("image_id", image_id)
    return app.resolve(event, context)
