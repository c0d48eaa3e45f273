"""The S3 key layout, both directions: the only place that knows how keys are spelled."""

import re
import uuid

UPLOAD_PREFIX = "uploads/"
IMAGES_PREFIX = "images/"

_IMAGE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def new_image_id() -> str:
    return str(uuid.uuid4())


def is_image_id(value: str) -> bool:
    """True for the lower-case UUIDv4 strings the server hands out, and nothing else."""
    return bool(_IMAGE_ID.fullmatch(value))


def upload_key(image_id: str) -> str:
    return f"{UPLOAD_PREFIX}{image_id}"


def parse_upload_key(key: str) -> str | None:
    """The image id of an original's key, or None for a key outside the layout."""
    if not key.startswith(UPLOAD_PREFIX):
        return None
    image_id = key[len(UPLOAD_PREFIX):]
    return image_id if is_image_id(image_id) else None


def image_prefix(image_id: str) -> str:
    return f"{IMAGES_PREFIX}{image_id}/"


def variant_key(image_id: str, variant: str, extension: str) -> str:
    return f"{image_prefix(image_id)}{variant}.{extension}"


def manifest_key(image_id: str) -> str:
    return f"{image_prefix(image_id)}manifest.json"
