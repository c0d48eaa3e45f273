"""Variants are served by S3 itself through pre-signed GETs, which can carry no X-Content-Type-Options (S3 stores
no such header). What makes that safe is pinned here: every variant is stored with the image type of the
bytes our encoder wrote, and no URL we sign lets its holder choose another Content-Type."""

import io
from urllib.parse import parse_qs, urlparse

import pytest
from imageservice.keys import image_prefix
from lambda_responses import response_json
from PIL import Image

FORMAT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


@pytest.mark.parametrize("output", ["original", "webp", "png"])
def test_variants_carry_their_image_type_and_urls_fix_it(invoke, load_event, http_event, upload, process, s3,
                                                         config, output):
    image_id = upload(query={"format": output})
    process(image_id)
    listing = s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix=image_prefix(image_id))
    for item in listing["Contents"]:
        if item["Key"].endswith("manifest.json"):
            continue
        stored = s3.get_object(Bucket=config.processed_images_bucket, Key=item["Key"])
        with Image.open(io.BytesIO(stored["Body"].read())) as image:
            assert stored["ContentType"] == FORMAT_TYPES[image.format]
        assert stored["ContentDisposition"].startswith("inline; ")

    event = http_event(load_event("presign_get_image.json"), path=f"/api/images/{image_id}",
                       path_parameters={"id": image_id})
    for variant in response_json(invoke("PresignFunction", event))["variants"]:
        for url in (variant["url"], variant["download_url"]):
            query = parse_qs(urlparse(url).query)
            # SigV4 signs every query parameter: an added response-content-type breaks the signature on S3.
            overrides = {name for name in query if name.startswith("response-")}
            assert overrides <= {"response-content-disposition"}
            assert query["X-Amz-SignedHeaders"] == ["host"]
