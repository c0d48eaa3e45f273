"""The S3 key layout, both directions: the only place that knows how keys are spelled."""

import hashlib
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


# ---------------------------------------------------------------- derived images (GET /img/...)
# Rendered on first request at a width of the Widths parameter, in one of DERIVED_FORMATS, and stored in the
# processed-images bucket under the path CloudFront asks its origins for, less the leading slash: the viewer
# request function (src/edge/image_request.js) turns /img/{id}/{width}.auto into one of these, the bucket
# answers it once stored, and the render function behind it reads the same path. So an image has at most
# len(Widths) x len(DERIVED_FORMATS) derived objects, all under derived_prefix(id).
DERIVED_PREFIX = "img/"
# fallback: JPEG, or PNG for an image with transparency (what `auto` becomes without AVIF or WebP in Accept).
DERIVED_FORMATS = ("avif", "webp", "jpeg", "png", "fallback")
# What a request may name (src/edge/image_request.js turns auto into one of the derived formats).
REQUESTED_FORMATS = ("auto", "avif", "webp", "jpeg", "png")
DELIVERY_PATH = f"/{DERIVED_PREFIX.rstrip('/')}"
_DERIVED_KEY = re.compile(rf"{DERIVED_PREFIX}({_IMAGE_ID.pattern})/([1-9][0-9]{{0,4}})\.({'|'.join(DERIVED_FORMATS)})")


def derived_prefix(image_id: str) -> str:
    return f"{DERIVED_PREFIX}{image_id}/"


def derived_key(image_id: str, width: int, fmt: str) -> str:
    if fmt not in DERIVED_FORMATS:
        raise ValueError(f"not a derived format: {fmt!r}")
    return f"{derived_prefix(image_id)}{width}.{fmt}"


def parse_derived_key(key: str) -> tuple[str, int, str] | None:
    """(image id, width, format) of a derived image's key, or None for anything else."""
    match = _DERIVED_KEY.fullmatch(key)
    return (match[1], int(match[2]), match[3]) if match else None


def derived_paths(image_id: str) -> str:
    """The one CloudFront invalidation path that covers every derived image of an image."""
    return f"/{derived_prefix(image_id)}*"


# An image DELETE removed: an empty object in the stored-images bucket, written by DeleteFunction once every
# object of the image is gone. Its ObjectCreated event makes InvalidateFunction invalidate derived_paths(id)
# (DeleteFunction cannot name the distribution: the distribution refers to the API, which refers to it).
INVALIDATION_PREFIX = "invalidations/"


def invalidation_key(image_id: str) -> str:
    return f"{INVALIDATION_PREFIX}{image_id}"


def parse_invalidation_key(key: str) -> str | None:
    """The image id of an invalidation request's key, or None for a key outside the layout."""
    image_id = key[len(INVALIDATION_PREFIX):] if key.startswith(INVALIDATION_PREFIX) else ""
    return image_id if is_image_id(image_id) else None


# ---------------------------------------------------------------- status objects (GET /status/{id})
# One small object per image in the processed-images bucket, which a waiting client polls through CloudFront's
# /status/* behaviour (conditional GETs: ETag -> 304) instead of holding a function (imageservice.progress).
# The distribution asks its origin for the viewer's path less the slash, so the key is that path.
STATUS_PREFIX = "status/"


def status_key(image_id: str) -> str:
    return f"{STATUS_PREFIX}{image_id}"


def status_path(image_id: str) -> str:
    """Where the site serves the status object (the upload answers' links.status)."""
    return f"/{status_key(image_id)}"


# ---------------------------------------------------------------- owners (AuthMode cognito or oidc)
# Two empty objects in the stored-images bucket per owned image, under a hash of the owner's `sub` (so no
# identifier of a person is in a key, and any sub makes a valid key):
#   owners/<sha256(sub)>/newest/<inverted-ms>-<id>  listed with a prefix, MaxKeys and StartAfter: the
#       owner's images newest first, a page per ListObjectsV2 call, however many images the bucket holds;
#   owners/<sha256(sub)>/ids/<id>/<inverted-ms>     listed with the id as prefix: whether the image is theirs.
OWNERS_PREFIX = "owners/"
_MAX_MS = 10**13 - 1  # milliseconds until the year 2286, in 13 digits
_NEWEST_ENTRY = re.compile(rf"([0-9]{{13}})-({_IMAGE_ID.pattern})")


def owner_prefix(subject: str) -> str:
    return f"{OWNERS_PREFIX}{hashlib.sha256(subject.encode('utf-8')).hexdigest()}/"


def newest_prefix(subject: str) -> str:
    return f"{owner_prefix(subject)}newest/"


def newest_key(subject: str, image_id: str, created_ms: int) -> str:
    return f"{newest_prefix(subject)}{newest_entry(image_id, created_ms)}"


def newest_entry(image_id: str, created_ms: int) -> str:
    """The part of a newest/ key after the prefix; the API's list cursor is one of these."""
    return f"{_MAX_MS - created_ms:013d}-{image_id}"


def parse_newest_entry(entry: str) -> tuple[str, int] | None:
    """(image id, created ms) of a newest/ entry, or None for anything else (a forged cursor)."""
    match = _NEWEST_ENTRY.fullmatch(entry)
    return (match[2], _MAX_MS - int(match[1])) if match else None


def ownership_prefix(subject: str, image_id: str) -> str:
    return f"{owner_prefix(subject)}ids/{image_id}/"


def ownership_key(subject: str, image_id: str, created_ms: int) -> str:
    return f"{ownership_prefix(subject, image_id)}{_MAX_MS - created_ms:013d}"


def parse_ownership_key(key: str) -> int | None:
    """The created ms an ownership key records."""
    tail = key.rsplit("/", 1)[-1]
    return _MAX_MS - int(tail) if len(tail) == 13 and tail.isdigit() else None
