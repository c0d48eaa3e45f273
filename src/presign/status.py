"""What the API says about an image: read from its manifest, with pre-signed URLs for the variants."""

import time
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError
from imageservice.config import Config
from imageservice.errors import InvalidOption, NotFound
from imageservice.keys import is_image_id, manifest_key, parse_newest_entry, upload_key
from imageservice.manifest import DONE, FAILED, decode_manifest, failed_manifest
from imageservice.options import FILTERS, MAX_FILTERS, OUTPUT_FORMATS
from imageservice.sniff import ACCEPTED_CONTENT_TYPES

RESPONSE_STATUS = {DONE: 200, FAILED: 422}

MAX_WAIT_SECONDS = 20
LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 50
RETRY_AFTER_SECONDS = 1
POLL_INTERVAL_SECONDS = 0.5
PENDING = "pending"


def parse_wait(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not value.isdigit() or int(value) > MAX_WAIT_SECONDS:
        raise InvalidOption(f"wait must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}.")
    return int(value)


def parse_list_query(query: dict[str, str]) -> tuple[int, str | None]:
    """`limit` (1 to 50, default 20) and `cursor` (next_cursor of the previous page) of GET /api/images."""
    unknown = sorted(set(query) - {"limit", "cursor"})
    if unknown:
        raise InvalidOption(f"Unknown parameter {unknown[0]!r}; GET /api/images takes limit and cursor.")
    raw_limit = query.get("limit") or str(LIST_LIMIT_DEFAULT)
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= LIST_LIMIT_MAX:
        raise InvalidOption(f"limit must be a whole number from 1 to {LIST_LIMIT_MAX}.")
    cursor = query.get("cursor") or None
    if cursor is not None and parse_newest_entry(cursor) is None:
        raise InvalidOption("cursor must be the next_cursor of a previous page, unchanged.")
    return int(raw_limit), cursor


def owned_images(s3, config: Config, page: list[tuple[str, int]], next_cursor: str | None) -> dict:
    """The API's answer for a page of the caller's images: each as GET /api/images/{id} shows it, with the
    time it was created. An upload that never arrived (a pre-signed POST not used) or was deleted is left out."""
    images = []
    for image_id, created_ms in page:
        try:
            manifest = image_state(s3, config, image_id)
        except NotFound:
            continue
        created_at = datetime.fromtimestamp(created_ms / 1000, UTC).isoformat(timespec="milliseconds")
        images.append({"created_at": created_at.replace("+00:00", "Z"), "image": api_view(s3, config, manifest)})
    return {"images": images, "next_cursor": next_cursor}


def image_state(s3, config: Config, image_id: str, wait_seconds: int = 0) -> dict:
    """The manifest of an image, or a pending stand-in; waits up to `wait_seconds` for the outcome."""
    if not is_image_id(image_id):
        raise NotFound("No image has this id.")
    deadline = time.monotonic() + wait_seconds
    manifest = _read_manifest(s3, config, image_id)
    if manifest is not None:
        return manifest
    uploaded_at = _upload_time(s3, config, image_id)
    if uploaded_at is None:
        raise NotFound("No image has this id.")
    if (datetime.now(UTC) - uploaded_at).total_seconds() > config.processing_timeout_seconds:
        return failed_manifest(
            image_id,
            "processing_timeout",
            f"Processing did not finish within {config.processing_timeout_seconds} seconds; upload it again.",
        )
    # The original exists: from here on only the manifest can change the answer.
    while time.monotonic() + POLL_INTERVAL_SECONDS <= deadline:
        time.sleep(POLL_INTERVAL_SECONDS)
        manifest = _read_manifest(s3, config, image_id)
        if manifest is not None:
            return manifest
    return {"id": image_id, "status": PENDING}


def api_view(s3, config: Config, manifest: dict) -> dict:
    """The manifest as the API shows it: variants get pre-signed URLs, storage keys stay inside."""
    if manifest["status"] != DONE:
        return {key: manifest[key] for key in ("id", "status", "error") if key in manifest}
    variants = [
        {
            **{k: v for k, v in variant.items() if k not in ("key", "content_type")},
            "url": presigned_get(s3, config, variant["key"]),
            "download_url": presigned_get(s3, config, variant["key"], download_name(manifest["id"], variant)),
        }
        for variant in manifest["variants"]
    ]
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=config.url_expires_seconds)
    return {
        "id": manifest["id"],
        "status": DONE,
        "original": manifest["original"],
        "variants": variants,
        "metadata_removed": manifest["metadata_removed"],
        "placeholder": manifest["placeholder"],
        "expires_in": config.url_expires_seconds,
        "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
    }


def download_name(image_id: str, variant: dict) -> str:
    """The file name a download is saved under; made only of the id and the configured variant name."""
    extension = variant["key"].rsplit(".", 1)[-1]
    return f"{image_id}-{variant['name']}.{extension}"


def variant_url(s3, config: Config, manifest: dict, name: str) -> str:
    for variant in manifest["variants"]:
        if variant["name"] == name:
            return presigned_get(s3, config, variant["key"])
    names = ", ".join(variant["name"] for variant in manifest["variants"])
    raise NotFound(f"This image has no variant {name!r}; it has: {names}.")


def presigned_get(s3, config: Config, key: str, download_as: str | None = None) -> str:
    """A pre-signed GET; with `download_as`, S3 answers with an attachment disposition so browsers save it."""
    params = {"Bucket": config.processed_images_bucket, "Key": key}
    if download_as is not None:
        params["ResponseContentDisposition"] = f'attachment; filename="{download_as}"'
    return s3.generate_presigned_url("get_object", Params=params, ExpiresIn=config.url_expires_seconds)


def processing_options(config: Config) -> dict:
    """What a client may ask for and the limits it must respect, so pages copy none of them."""
    return {
        "formats": list(OUTPUT_FORMATS),
        "filters": list(FILTERS),
        "max_filters": MAX_FILTERS,
        "accepted_types": sorted(ACCEPTED_CONTENT_TYPES),
        "quality": {"min": 1, "max": 100, "default": config.default_quality},
        "variants": [{"name": size.name, "long_edge": size.long_edge} for size in config.variants],
        "limits": {
            "direct_upload_max_bytes": config.direct_upload_max_bytes,
            "large_upload_max_bytes": config.large_upload_max_bytes,
            "max_pixels": config.max_pixels,
            "max_wait_seconds": MAX_WAIT_SECONDS,
        },
        "url_expires_seconds": config.url_expires_seconds,
        "sign_in": sign_in_options(config),
    }


SIGN_IN_SCOPES = ("openid", "email", "profile")


def sign_in_options(config: Config) -> dict:
    """What the page needs to sign in with PKCE: the issuer, its public client, and (Cognito) the hosted
    pages; with AuthMode oidc the page reads the endpoints from the issuer's discovery document."""
    sign_in = config.sign_in
    if not sign_in.enabled:
        return {"mode": "none"}
    options = {"mode": sign_in.mode, "issuer": sign_in.issuer, "client_id": sign_in.client_id,
               "scopes": list(SIGN_IN_SCOPES)}
    if sign_in.hosted_url:
        options.update(
            authorization_endpoint=f"{sign_in.hosted_url}/oauth2/authorize",
            token_endpoint=f"{sign_in.hosted_url}/oauth2/token",
            end_session_endpoint=f"{sign_in.hosted_url}/logout",
        )
    return options


def buckets_reachable(s3, config: Config) -> None:
    """Raises unless both buckets answer; the health check's whole job."""
    s3.head_bucket(Bucket=config.processed_images_bucket)
    s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=upload_key(""), MaxKeys=1)


def _read_manifest(s3, config: Config, image_id: str) -> dict | None:
    try:
        response = s3.get_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id))
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise
    return decode_manifest(response["Body"].read())


def _upload_time(s3, config: Config, image_id: str) -> datetime | None:
    # Listing, not reading: this function may learn that an original exists, never what it holds.
    key = upload_key(image_id)
    listing = s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=key, MaxKeys=1)
    for item in listing.get("Contents", []):
        if item["Key"] == key:
            return item["LastModified"]
    return None

