"""Removing an image now: its original, its variants and its manifest."""

from imageservice.config import Config
from imageservice.errors import NotFound
from imageservice.keys import image_prefix, is_image_id, upload_key


def delete_image(s3, config: Config, image_id: str) -> int:
    """Delete every object of the image and return how many there were."""
    if not is_image_id(image_id):
        raise NotFound("No image has this id.")
    deleted = 0
    for bucket, prefix in (
        (config.stored_images_bucket, upload_key(image_id)),
        (config.processed_images_bucket, image_prefix(image_id)),
    ):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
    if deleted == 0:
        raise NotFound("No image has this id.")
    return deleted
