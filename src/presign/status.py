"""What the API says about an image: read from its manifest, with pre-signed URLs for the variants."""

import re
import time
from datetime import UTC, datetime, timedelta

from imageservice import records
from imageservice.config import Config
from imageservice.errors import InvalidOption, NotFound, quoted
from imageservice.filename import attachment_disposition
from imageservice.keys import DELIVERY_PATH, REQUESTED_FORMATS, is_image_id, parse_newest_entry, upload_key
from imageservice.manifest import DELETED, DONE, FAILED, PENDING, Manifest, StoredVariant
from imageservice.options import FILTERS, MAX_FILTERS, OUTPUT_FORMATS
from imageservice.sniff import ACCEPTED_CONTENT_TYPES

RESPONSE_STATUS = {DONE: 200, FAILED: 422, PENDING: 202}

MAX_WAIT_SECONDS = 20
LIST_LIMIT_DEFAULT = 20
LIST_LIMIT_MAX = 50
RETRY_AFTER_SECONDS = 1
POLL_INTERVAL_SECONDS = 0.5
_LIMIT = re.compile(r"[0-9]{1,2}")  # ASCII digits only, as for wait
_WAIT = re.compile(r"[0-9]{1,2}")  # ASCII digits only: int() also takes '１', '٣' and '1_0'


def parse_wait(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not _WAIT.fullmatch(value) or int(value) > MAX_WAIT_SECONDS:
        raise InvalidOption(f"wait must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}.")
    return int(value)


def parse_list_query(query: dict[str, str]) -> tuple[int, str | None]:
    """`limit` (1 to 50, default 20) and `cursor` (next_cursor of the previous page) of GET /api/images."""
    unknown = sorted(set(query) - {"limit", "cursor"})
    if unknown:
        raise InvalidOption(f"Unknown parameter {quoted(unknown[0])}; GET /api/images takes limit and cursor.")
    raw_limit = query.get("limit") or str(LIST_LIMIT_DEFAULT)
    if not _LIMIT.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= LIST_LIMIT_MAX:
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


def image_state(s3, config: Config, image_id: str, wait_seconds: int = 0) -> Manifest:
    """The outcome of an image, or a pending stand-in; waits up to `wait_seconds` for the outcome."""
    if not is_image_id(image_id):
        raise NotFound("No image has this id.")
    deadline = time.monotonic() + wait_seconds
    manifest = _read_outcome(s3, config, image_id)
    if manifest is not None:
        return manifest
    uploaded_at = _upload_time(s3, config, image_id)
    if uploaded_at is None:
        raise NotFound("No image has this id.")
    if (datetime.now(UTC) - uploaded_at).total_seconds() > config.processing_timeout_seconds:
        return Manifest.failed(
            image_id,
            "processing_timeout",
            f"Processing did not finish within {config.processing_timeout_seconds} seconds; upload it again.",
        )
    # The original exists: from here on only the manifest can change the answer.
    while time.monotonic() + POLL_INTERVAL_SECONDS <= deadline:
        time.sleep(POLL_INTERVAL_SECONDS)
        manifest = _read_outcome(s3, config, image_id)
        if manifest is not None:
            return manifest
    return Manifest.pending(image_id)


def api_view(s3, config: Config, manifest: Manifest) -> dict:
    """The manifest as the API shows it: variants get pre-signed URLs, storage keys stay inside."""
    if manifest.status != DONE:
        view = {"id": manifest.id, "status": manifest.status}
        if manifest.error is not None:
            view["error"] = {"code": manifest.error.code, "message": manifest.error.message}
        return view
    variants = [
        {
            "name": variant.name,
            "width": variant.width,
            "height": variant.height,
            "format": variant.format,
            "bytes": variant.bytes,
            "url": presigned_get(s3, config, variant.key),
            "download_url": presigned_get(s3, config, variant.key, download_disposition(manifest, variant)),
            **({"aliases": list(variant.aliases)} if variant.aliases else {}),
        }
        for variant in manifest.variants
    ]
    expires_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=config.url_expires_seconds)
    return {
        "id": manifest.id,
        "status": DONE,
        "original": manifest.original.to_json(),
        "variants": variants,
        "metadata_removed": list(manifest.metadata_removed),
        "placeholder": manifest.placeholder,
        "expires_in": config.url_expires_seconds,
        "expires_at": expires_at.isoformat().replace("+00:00", "Z"),
    }


def download_disposition(manifest: Manifest, variant: StoredVariant) -> str:
    """Saved as "<original name>-<variant>.<ext>" ("<id>-<variant>.<ext>" when the upload gave no name);
    the key's parts are server-made, and the name was sanitised when it was stored."""
    extension = variant.key.rsplit(".", 1)[-1]
    by_id = f"{manifest.id}-{variant.name}.{extension}"
    stem = manifest.original.name
    if not stem:
        return attachment_disposition(by_id, by_id)
    return attachment_disposition(f"{stem}-{variant.name}.{extension}", by_id)


def variant_url(s3, config: Config, manifest: Manifest, name: str) -> str:
    """The pre-signed URL of a variant by name; a name that repeats a larger variant leads to that one."""
    variant = manifest.variant(name)
    if variant is None:
        names = ", ".join(n for variant in manifest.variants for n in (variant.name, *variant.aliases))
        raise NotFound(f"This image has no variant {quoted(name)}; it has: {names}.")
    return presigned_get(s3, config, variant.key)


def presigned_get(s3, config: Config, key: str, disposition: str | None = None) -> str:
    """A pre-signed GET; with `disposition` (an attachment's), S3 answers with it so browsers save the file."""
    params = {"Bucket": config.processed_images_bucket, "Key": key}
    if disposition is not None:
        params["ResponseContentDisposition"] = disposition
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
            # How long an image may stay pending before the API answers processing_timeout: the one outcome a
            # status object (GET /status/{id}) cannot show, so a client waiting that long asks the API.
            "processing_timeout_seconds": config.processing_timeout_seconds,
        },
        "url_expires_seconds": config.url_expires_seconds,
        "retention_days": config.variants_expire_days,
        "lasting_links": lasting_links(config),
        "sign_in": sign_in_options(config),
        "delivery": delivery_options(config),
    }


def lasting_links(config: Config) -> bool:
    """Whether /api/images/{id}/{variant} works for whoever holds it (a link, an <img> on another page): only
    without sign-in. With it, API Gateway's JWT authorizer answers 401 to a request without a bearer token, which
    a link or an <img> never carries, so the page offers no such links; it offers the edge's /img/{owner}/...
    addresses instead (delivery_options), which work in a browser holding the signed cookies of POST /api/session."""
    return not config.sign_in.enabled


SESSION_PATH = "/api/session"


def delivery_options(config: Config) -> dict:
    """Images at the edge (GET /img/{id}/{width}.{format}, docs/delivery.md): where, which widths and formats.
    With sign-in on, `session` names the route that sets the signed cookies and answers the caller's own path,
    /img/{owner} (an owner's images are there alone, and only with the cookies)."""
    options = {"path": DELIVERY_PATH, "widths": list(config.widths), "formats": list(REQUESTED_FORMATS)}
    if config.sign_in.enabled:
        options["session"] = SESSION_PATH
    return options


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


def _read_outcome(s3, config: Config, image_id: str) -> Manifest | None:
    """The stored outcome (done or failed); None while there is none; NotFound once the image is deleted."""
    stored = records.get(s3, config, image_id)
    if stored is None:
        return None
    manifest = stored.manifest
    if manifest.status == DELETED:
        raise NotFound("No image has this id.")
    return manifest if manifest.finished else None  # a stored `pending` is processing's claim


def _upload_time(s3, config: Config, image_id: str) -> datetime | None:
    # Listing, not reading: this function may learn that an original exists, never what it holds.
    key = upload_key(image_id)
    listing = s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=key, MaxKeys=1)
    for item in listing.get("Contents", []):
        if item["Key"] == key:
            return item["LastModified"]
    return None

