"""ProcessFunction: S3 ObjectCreated events on uploads/ become variants and a manifest."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from imageservice.aws import s3_client
from imageservice.config import get_config
from processing import parse_upload_record, process_upload

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=S3Event)
def handler(event: S3Event, context: LambdaContext) -> None:
    for record in event.records:
        stored = parse_upload_record(record)
        logger.append_keys(image_id=stored.image_id)
        if stored.image_id is None:
            logger.warning("ignored an object outside the uploads layout", extra={"key": stored.key})
            continue
        manifest = process_upload(s3_client(), get_config(), stored)
        logger.info("image processed" if manifest else "original gone before processing",
                    extra={"status": manifest and manifest["status"], "error": manifest and manifest.get("error")})
