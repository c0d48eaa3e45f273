"""ProcessFunction: S3 ObjectCreated events on uploads/ become variants and a manifest."""

import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from imageservice.aws import s3_client
from imageservice.config import get_config
from imageservice.manifest import Manifest
from processing import parse_upload_record, process_upload

logger = Logger()
metrics = Metrics()

# Taken off the function's remaining time to give processing its deadline: what must still run after it.
# The longest step that cannot be interrupted (decoding a 50 MP PNG: 1.5 s measured, by docs/performance.md's
# memory table) on a slower core, then writing the variants and the manifest.
DEADLINE_MARGIN_SECONDS = 5.0


# The event is read as the dict it is: Powertools' S3Event would import every one of its event data
# classes at a cold start (bench/bench_cold_start.py) for the two fields parse_upload_record reads.
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> None:
    for record in event["Records"]:
        stored = parse_upload_record(record)
        logger.append_keys(image_id=stored.image_id)
        if stored.image_id is None:
            logger.warning("ignored an object outside the uploads layout", extra={"key": stored.key})
            continue
        started = time.perf_counter()
        deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
        manifest = process_upload(s3_client(), get_config(), stored, deadline)
        if manifest is None:
            logger.info("nothing to publish: the original is gone, or the image is finished or deleted")
            continue
        record_outcome(manifest, time.perf_counter() - started)


def record_outcome(manifest: Manifest, seconds: float) -> None:
    error = manifest.error
    logger.info("image processed", extra={"status": manifest.status, "error": error and vars(error),
                                          "ms": round(seconds * 1000)})
    metrics.add_metric("ProcessingTime", MetricUnit.Milliseconds, seconds * 1000)
    if error is None:
        metrics.add_metric("ImagesProcessed", MetricUnit.Count, 1)
    else:
        # One metric per failure code, so a dashboard can tell corrupt uploads from oversized ones.
        metrics.add_metric(f"ImagesFailed_{error.code}", MetricUnit.Count, 1)
