"""InvalidateFunction: each invalidations/{id} object DeleteFunction leaves becomes a CloudFront invalidation of
/img/{id}/* (DeleteFunction cannot name the distribution, which refers to the API that refers to it)."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from imageservice.aws import cloudfront_client
from imageservice.config import get_config
from invalidation import invalidate, parse_invalidation_record

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> None:
    for record in event["Records"]:
        request = parse_invalidation_record(record)
        if request.image_id is None:
            logger.warning("ignored an object outside the invalidations layout", extra={"key": request.key})
            continue
        invalidation_id = invalidate(cloudfront_client(), get_config().distribution_id, request)
        logger.info("derived images invalidated", extra={"image_id": request.image_id, "id": invalidation_id})
