"""ProcessFunction: S3 ObjectCreated events on uploads/ become variants and a manifest."""

import time
from datetime import UTC, datetime

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from imageservice.aws import s3_client
from imageservice.config import get_config
from imageservice.manifest import Manifest
from imageservice.tracing import get_tracer
from processing import StoredObject, parse_upload_record, process_upload

logger = Logger()
metrics = Metrics()
tracer = get_tracer()

# Taken off the function's remaining time to give processing its deadline: what must still run after it.
# The longest step that cannot be interrupted (decoding a 50 MP PNG: 1.5 s measured, by docs/performance.md's
# memory table) on a slower core, then writing the variants and the manifest.
DEADLINE_MARGIN_SECONDS = 5.0


# The event is read as the dict it is: Powertools' S3Event would import every one of its event data
# classes at a cold start (bench/bench_cold_start.py) for the two fields parse_upload_record reads.
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> None:
    for record in event["Records"]:
        stored = parse_upload_record(record)
        # Every line about this object carries its image id, and as correlation id S3's id of the request
        # that stored it; docs/operations.md has the Logs Insights query that follows one image.
        logger.append_keys(image_id=stored.image_id)
        logger.set_correlation_id(stored.s3_request_id)
        tracer.put_annotation("image_id", stored.image_id)
        if stored.image_id is None:
            logger.warning("ignored an object outside the uploads layout", extra={"key": stored.key})
            continue
        started = time.perf_counter()
        deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
        manifest = process_upload(s3_client(), get_config(), stored, deadline)
        if manifest is None:
            logger.info("nothing to publish: the original is gone, or the image is finished or deleted")
            continue
        record_outcome(stored, manifest, time.perf_counter() - started)


def record_outcome(stored: StoredObject, manifest: Manifest, seconds: float) -> None:
    """The outcome's log line and metrics (docs/operations.md lists them, and the dashboard plots them)."""
    error = manifest.error
    logger.info("image processed", extra={"status": manifest.status, "error": error and vars(error),
                                          "ms": round(seconds * 1000)})
    metrics.add_metric("ProcessingTime", MetricUnit.Milliseconds, seconds * 1000)
    if error is not None:
        metrics.add_metric("ImagesFailed", MetricUnit.Count, 1)
        # The same count by failure code, so a dashboard can tell corrupt uploads from oversized ones.
        with single_metric("ImagesFailed", MetricUnit.Count, 1, default_dimensions=metrics.default_dimensions) as by:
            by.add_dimension("code", error.code)
            by.add_metadata("image_id", stored.image_id)  # in the document, not a dimension: Logs Insights finds it
        return
    metrics.add_metric("ImagesProcessed", MetricUnit.Count, 1)
    metrics.add_metric("BytesIn", MetricUnit.Bytes, manifest.original.bytes)
    metrics.add_metric("BytesOut", MetricUnit.Bytes, sum(variant.bytes for variant in manifest.variants))
    metrics.add_metric("VariantsStored", MetricUnit.Count, len(manifest.variants))
    if stored.stored_at is not None:
        waited = (datetime.now(UTC) - stored.stored_at).total_seconds()
        metrics.add_metric("UploadToDoneTime", MetricUnit.Milliseconds, max(0.0, waited) * 1000)
