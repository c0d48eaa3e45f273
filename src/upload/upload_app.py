"""UploadFunction: POST /api/images and POST /api/uploads."""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from imageservice.aws import s3_client
from imageservice.config import get_config
from imageservice.errors import AppError
from imageservice.http import json_body, json_response, make_resolver, request_body
from imageservice.keys import status_path
from imageservice.options import ImageOptions
from imageservice.owners import caller
from imageservice.tracing import get_tracer
from uploads import extract_image, presigned_upload, store_direct_upload

logger = Logger()
metrics = Metrics()
tracer = get_tracer()


def count_refusal(error: AppError) -> None:
    """A refused upload: counted in all, and by its error code."""
    metrics.add_metric("UploadsRefused", MetricUnit.Count, 1)
    with single_metric("UploadsRefused", MetricUnit.Count, 1, default_dimensions=metrics.default_dimensions) as by:
        by.add_dimension("code", error.code)


app = make_resolver(on_refused=count_refusal)


@app.post("/api/images")
def create_image():
    query = dict(app.current_event.query_string_parameters or {})
    file_name = query.pop("name", None)
    options = ImageOptions.from_strings(query)
    content_type = app.current_event.headers.get("content-type") or ""
    owner = caller(app.current_event.raw_event, get_config())
    image, part_name = extract_image(request_body(app), content_type, get_config().direct_upload_max_bytes)
    file_name = file_name or part_name  # ?name= or, from curl -F file=@photo.jpg, the part's file name
    image_id = store_direct_upload(s3_client(), get_config(), image, options, owner, file_name)
    _about(image_id)
    logger.info("original stored", extra={"bytes": len(image)})
    metrics.add_metric("ImagesUploaded", MetricUnit.Count, 1)
    location = f"/api/images/{image_id}"
    body = {"id": image_id, "status": "pending", "links": {"self": location, "status": status_path(image_id)}}
    return json_response(202, body, {"Location": location})


@app.post("/api/uploads")
def create_upload():
    body = json_body(app)
    content_type = body.pop("content_type", None)
    file_name = body.pop("name", None)
    owner = caller(app.current_event.raw_event, get_config())
    options = ImageOptions.from_json(body)
    image_id, post = presigned_upload(s3_client(), get_config(), content_type, options, owner, file_name)
    _about(image_id)
    logger.info("pre-signed upload issued")
    metrics.add_metric("UploadsIssued", MetricUnit.Count, 1)
    return json_response(201, {
        "id": image_id,
        "upload": post,
        "max_bytes": get_config().large_upload_max_bytes,
        "expires_in": get_config().url_expires_seconds,
        "links": {"self": f"/api/images/{image_id}", "status": status_path(image_id)},
    })


def _about(image_id: str) -> None:
    """From here on, this request's log lines and trace name the image it made."""
    logger.append_keys(image_id=image_id)
    tracer.put_annotation("image_id", image_id)


# Every log line carries the API's request id (the access log's requestId) as its correlation_id.
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
