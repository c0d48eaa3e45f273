"""Who owns an image, with AuthMode cognito or oidc: the caller is the `sub` of the token API Gateway's JWT
authorizer accepted, and each image they upload gets the owner entries of keys.py next to its original.

With AuthMode none nobody owns anything: image ids are the only secret, as before."""

import re
import time

from .config import Config
from .errors import AppError, NotFound
from .keys import (
    is_image_id,
    newest_entry,
    newest_key,
    newest_prefix,
    owned_prefix,
    owner_hash,
    ownership_key,
    parse_newest_entry,
    parse_ownership_key,
)

_SUBJECT = re.compile(r"[\x21-\x7e]{1,255}")  # OpenID Connect: at most 255 ASCII characters


class Unauthenticated(AppError):
    status = 401
    code = "unauthorized"


def caller(event: dict, config: Config) -> str | None:
    """The caller's sub with sign-in on (API Gateway let the request through only with a valid token); None
    with AuthMode none. A protected route reached without claims is refused, never treated as anyone."""
    if not config.sign_in.enabled:
        return None
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    subject = ((authorizer.get("jwt") or {}).get("claims") or {}).get("sub")
    if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
        raise Unauthenticated("Sign in to use this service.")
    return subject


def record_owner(s3, config: Config, subject: str, image_id: str) -> None:
    """Write the owner entries of a new image; done before its original can exist, so no image is ever
    without an owner (an upload that never comes leaves entries the list skips and lifecycle removes)."""
    created_ms = time.time_ns() // 1_000_000
    for key in (ownership_key(subject, image_id, created_ms), newest_key(subject, image_id, created_ms)):
        s3.put_object(Bucket=config.stored_images_bucket, Key=key, Body=b"")


def owned_since(s3, config: Config, subject: str, image_id: str) -> int | None:
    """When the caller's image was created (ms), or None when it is not theirs: one ListObjectsV2."""
    return owned_since_by_hash(s3, config, owner_hash(subject), image_id)


def owned_since_by_hash(s3, config: Config, owner: str, image_id: str) -> int | None:
    """owned_since for the owner a /img/{owner}/... path names (the hash of their sub)."""
    listing = s3.list_objects_v2(
        Bucket=config.stored_images_bucket, Prefix=owned_prefix(owner, image_id), MaxKeys=1
    )
    for item in listing.get("Contents", []):
        created_ms = parse_ownership_key(item["Key"])
        if created_ms is not None:
            return created_ms
    return None


def require_owner(s3, config: Config, subject: str | None, image_id: str) -> int | None:
    """Another's image is answered exactly like an unknown one; with AuthMode none, anyone may."""
    if subject is None:
        return None
    if not is_image_id(image_id):
        raise NotFound("No image has this id.")
    created_ms = owned_since(s3, config, subject, image_id)
    if created_ms is None:
        raise NotFound("No image has this id.")
    return created_ms


def forget_owner(s3, config: Config, subject: str, image_id: str, created_ms: int) -> None:
    keys = [ownership_key(subject, image_id, created_ms), newest_key(subject, image_id, created_ms)]
    s3.delete_objects(
        Bucket=config.stored_images_bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
    )


def list_owned(
    s3, config: Config, subject: str, limit: int, cursor: str | None
) -> tuple[list[tuple[str, int]], str | None]:
    """A page of the caller's (image id, created ms), newest first, and the cursor of the next page (None
    at the end): one ListObjectsV2 of at most `limit` keys."""
    prefix = newest_prefix(subject)
    request = {"Bucket": config.stored_images_bucket, "Prefix": prefix, "MaxKeys": limit}
    if cursor is not None:
        request["StartAfter"] = prefix + cursor
    listing = s3.list_objects_v2(**request)
    entries = [parse_newest_entry(item["Key"][len(prefix):]) for item in listing.get("Contents", [])]
    page = [entry for entry in entries if entry is not None]
    more = listing.get("IsTruncated", False) and page
    return page, newest_entry(*page[-1]) if more else None
