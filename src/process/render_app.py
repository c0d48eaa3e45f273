"""RenderFunction: GET /img/{id}/{width}.{format} behind CloudFront (its function URL, the origin group's second
member), for a derived image the processed-images bucket does not hold yet."""

import time

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from imageservice.aws import s3_client
from imageservice.config import get_config
from imageservice.http import make_resolver
from imageservice.tracing import get_tracer
from rendering import MAX_INLINE_BYTES, parse_derived_path, render_derived

logger = Logger()
tracer = get_tracer()
# Its URL takes only requests the distribution signs (AWS_IAM, Origin Access Control): no origin header to check.
app = make_resolver(LambdaFunctionUrlResolver, check_origin_header=False)
# As ProcessFunction: taken off the remaining time to give rendering its deadline (app.DEADLINE_MARGIN_SECONDS).
DEADLINE_MARGIN_SECONDS = 5.0


@app.get("/img/<image_id>/<name>")
@app.get("/img/<owner>/<image_id>/<name>")  # sign-in on: the owner's hash first (rendering.parse_derived_path)
def render(image_id: str, name: str, owner: str | None = None):
    logger.append_keys(image_id=image_id)
    tracer.put_annotation("image_id", image_id)
    request = parse_derived_path(app.current_event.path, get_config())
    deadline = time.monotonic() + app.lambda_context.get_remaining_time_in_millis() / 1000 - DEADLINE_MARGIN_SECONDS
    rendered = render_derived(s3_client(), get_config(), request, deadline)
    logger.info("image rendered", extra={"key": rendered.key, "bytes": len(rendered.data)})
    if len(rendered.data) > MAX_INLINE_BYTES:  # stored, but more than a function URL may answer: S3 sends it
        url = s3_client().generate_presigned_url("get_object", ExpiresIn=get_config().url_expires_seconds,
                                                 Params={"Bucket": get_config().processed_images_bucket,
                                                         "Key": rendered.key})
        return Response(302, headers={"Location": url, "Cache-Control": "no-store"})
    return Response(200, rendered.content_type, rendered.data, {"Cache-Control": rendered.cache_control})


# Every log line carries the request's id (CloudFront's request to the function URL) as its correlation_id.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.LAMBDA_FUNCTION_URL, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
