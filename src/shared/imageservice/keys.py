"""The S3 key layout, both directions: the only place that knows how keys are spelled."""

import hashlib
import re
import uuid
from typing import NamedTuple

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
# With sign-in on (AuthMode cognito, oidc) the owner's hash (owner_hash, as under owners/) comes first:
# /img/{owner}/{id}/{width}.{format}. A CloudFront signed cookie admits one path pattern, /img/{owner}/*, and
# the cache, the bucket and RenderFunction all see the owner in the path, so one user's cookie never reaches
# another's image: RenderFunction renders only an image the path's owner owns.
DERIVED_PREFIX = "img/"
# fallback: JPEG, or PNG for an image with transparency (what `auto` becomes without AVIF or WebP in Accept).
DERIVED_FORMATS = ("avif", "webp", "jpeg", "png", "fallback")
# What a request may name (src/edge/image_request.js turns auto into one of the derived formats).
REQUESTED_FORMATS = ("auto", "avif", "webp", "jpeg", "png")
DELIVERY_PATH = f"/{DERIVED_PREFIX.rstrip('/')}"
_OWNER_HASH = re.compile(r"[0-9a-f]{64}")
_DERIVED_KEY = re.compile(rf"{DERIVED_PREFIX}(?:({_OWNER_HASH.pattern})/)?({_IMAGE_ID.pattern})/([1-9][0-9]{{0,4}})"
                          rf"\.({'|'.join(DERIVED_FORMATS)})")


class DerivedKey(NamedTuple):
    image_id: str
    width: int
    format: str
    owner: str | None = None  # the owner's hash with sign-in on


def derived_prefix(image_id: str, owner: str | None = None) -> str:
    return f"{DERIVED_PREFIX}{owner + '/' if owner else ''}{image_id}/"


def derived_key(image_id: str, width: int, fmt: str, owner: str | None = None) -> str:
    if fmt not in DERIVED_FORMATS:
        raise ValueError(f"not a derived format: {fmt!r}")
    return f"{derived_prefix(image_id, owner)}{width}.{fmt}"


def parse_derived_key(key: str) -> DerivedKey | None:
    """(image id, width, format, owner hash or None) of a derived image's key, or None for anything else."""
    match = _DERIVED_KEY.fullmatch(key)
    return DerivedKey(match[2], int(match[3]), match[4], match[1]) if match else None


def derived_paths(image_id: str, owner: str | None = None) -> str:
    """The one CloudFront invalidation path that covers every derived image of an image."""
    return f"/{derived_prefix(image_id, owner)}*"


def delivery_path(owner: str | None = None) -> str:
    """Where an owner's derived images are (/img/{owner}), or everyone's without sign-in (/img)."""
    return f"{DELIVERY_PATH}/{owner}" if owner else DELIVERY_PATH


# An image DELETE removed: an empty object in the stored-images bucket, written by DeleteFunction once every
# object of the image is gone. Its ObjectCreated event makes InvalidateFunction invalidate derived_paths(id)
# (DeleteFunction cannot name the distribution: the distribution refers to the API, which refers to it).
# With sign-in on the owner's hash comes first, as in the derived images' paths.
INVALIDATION_PREFIX = "invalidations/"
_INVALIDATION_KEY = re.compile(rf"{INVALIDATION_PREFIX}(?:({_OWNER_HASH.pattern})/)?({_IMAGE_ID.pattern})")


def invalidation_key(image_id: str, owner: str | None = None) -> str:
    return f"{INVALIDATION_PREFIX}{owner + '/' if owner else ''}{image_id}"


def parse_invalidation_key(key: str) -> tuple[str, str | None] | None:
    """(image id, owner hash or None) of an invalidation request's key, or None for a key outside the layout."""
    match = _INVALIDATION_KEY.fullmatch(key)
    return (match[2], match[1]) if match else None


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


def owner_hash(subject: str) -> str:
    """Who owns an image, in keys and paths: the sha256 of the token's sub, in hex."""
    return hashlib.sha256(subject.encode("utf-8")).hexdigest()


def is_owner_hash(value: str) -> bool:
    return bool(_OWNER_HASH.fullmatch(value))


def owner_prefix(subject: str) -> str:
    return owner_hash_prefix(owner_hash(subject))


def owner_hash_prefix(owner: str) -> str:
    return f"{OWNERS_PREFIX}{owner}/"


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
    return owned_prefix(owner_hash(subject), image_id)


def owned_prefix(owner: str, image_id: str) -> str:
    """ownership_prefix by the owner's hash (what a /img/{owner}/... path names)."""
    return f"{owner_hash_prefix(owner)}ids/{image_id}/"


def ownership_key(subject: str, image_id: str, created_ms: int) -> str:
    return f"{ownership_prefix(subject, image_id)}{_MAX_MS - created_ms:013d}"


def parse_ownership_key(key: str) -> int | None:
    """The created ms an ownership key records."""
    tail = key.rsplit("/", 1)[-1]
    return _MAX_MS - int(tail) if len(tail) == 13 and tail.isdigit() else None
