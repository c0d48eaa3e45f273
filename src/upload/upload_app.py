"""UploadFunction: POST /api/images and POST /api/uploads."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from imageservice.aws import s3_client
from imageservice.config import get_config
from imageservice.http import json_body, json_response, make_resolver, request_body
from imageservice.options import ImageOptions
from imageservice.owners import caller
from uploads import extract_image, presigned_upload, store_direct_upload

logger = Logger()
app = make_resolver()


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
    logger.info("original stored", extra={"image_id": image_id, "bytes": len(image)})
    location = f"/api/images/{image_id}"
    body = {"id": image_id, "status": "pending", "links": {"self": location}}
    return json_response(202, body, {"Location": location})


@app.post("/api/uploads")
def create_upload():
    body = json_body(app)
    content_type = body.pop("content_type", None)
    file_name = body.pop("name", None)
    owner = caller(app.current_event.raw_event, get_config())
    options = ImageOptions.from_json(body)
    image_id, post = presigned_upload(s3_client(), get_config(), content_type, options, owner, file_name)
    logger.info("pre-signed upload issued", extra={"image_id": image_id})
    return json_response(201, {
        "id": image_id,
        "upload": post,
        "max_bytes": get_config().large_upload_max_bytes,
        "expires_in": get_config().url_expires_seconds,
        "links": {"self": f"/api/images/{image_id}"},
    })


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
