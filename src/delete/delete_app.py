"""DeleteFunction: DELETE /api/images/{id}."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from deletion import delete_image
from imageservice.aws import s3_client
from imageservice.config import get_config
from imageservice.http import json_response, make_resolver
from imageservice.owners import caller, forget_owner, require_owner

logger = Logger()
app = make_resolver()


@app.delete("/api/images/<image_id>")
def remove_image(image_id: str):
    owner = caller(app.current_event.raw_event, get_config())
    created_ms = require_owner(s3_client(), get_config(), owner, image_id)
    deleted = delete_image(s3_client(), get_config(), image_id)
    if owner is not None:
        forget_owner(s3_client(), get_config(), owner, image_id, created_ms)
    logger.info("image deleted", extra={"objects": deleted})
    return json_response(204)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    logger.append_keys(image_id=(event.get("pathParameters") or {}).get("id"))
    return app.resolve(event, context)
