"""The stored records of an image and their contract: the original's metadata, and the manifest.

The original (StoredImages bucket) carries the upload's options, its owner and its file name as S3 user
metadata: `OriginalMetadata` writes it (uploads) and reads it back (processing), and nothing else spells
those keys. The manifest (ProcessedImages bucket) is read and written only here (`get`, `put`), with the
conditions that make it the application's one invariant:

- processing claims an image id with a `pending` manifest naming the original's ETag (`claim`: a write
  that succeeds only where no manifest exists), and publishes its outcome only over exactly that claim
  (`publish`: a write conditional on the claim's ETag);
- a DELETE writes a tombstone first (`tombstone`: unconditional), so an outcome written after it fails,
  and neither a late event nor a second use of an upload ticket can bring the image back.
A missing manifest is `None` from `get`; `is_missing` and `is_condition_failed` read S3's errors."""

import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from .config import Config
from .filename import file_stem
from .keys import manifest_key
from .manifest import DELETED, Manifest
from .options import ImageOptions

OWNER_KEY = "owner"  # x-amz-meta-owner: the uploader's sub
NAME_KEY = "original-name"  # x-amz-meta-original-name: the file's sanitised stem, percent-encoded (headers)

_MISSING = ("NoSuchKey", "404")
_CONDITION_FAILED = ("PreconditionFailed", "412")
# 409: another write to the same key was in progress. Not an answer about the condition: AWS says to retry.
_CONFLICT = ("ConditionalRequestConflict", "409")
CONFLICT_ATTEMPTS = 4  # then the error is raised, and Lambda's own retries take over
CONFLICT_BACKOFF_SECONDS = 0.05

logger = Logger(child=True)


@dataclass(frozen=True)
class OriginalMetadata:
    """What is stored beside an original: how to process it, who uploaded it, and what it was called."""

    options: ImageOptions
    owner: str | None = None
    name: str | None = None  # a sanitised stem (imageservice.filename), only ever used to name downloads

    @classmethod
    def of_upload(cls, options: ImageOptions, owner: str | None, file_name: object) -> "OriginalMetadata":
        """The record of a new upload; `file_name` is the client's, as sent."""
        return cls(options, owner, file_stem(file_name))

    def to_s3(self) -> dict[str, str]:
        """S3 user metadata (names without x-amz-meta-)."""
        owner = {OWNER_KEY: self.owner} if self.owner is not None else {}
        name = {NAME_KEY: quote(self.name, safe="")} if self.name else {}
        return {**self.options.to_strings(), **owner, **name}

    @classmethod
    def from_s3(cls, metadata: dict[str, str]) -> "OriginalMetadata":
        """The stored record; InvalidOption when its options are not valid ones (metadata is whatever the
        uploader's signed request carried). The name is sanitised again."""
        options = {key: value for key, value in metadata.items() if key not in (OWNER_KEY, NAME_KEY)}
        name = metadata.get(NAME_KEY)
        stem = file_stem(unquote(name)) if name else None
        return cls(ImageOptions.from_strings(options), metadata.get(OWNER_KEY), stem)


@dataclass(frozen=True)
class StoredManifest:
    manifest: Manifest
    etag: str


def get(s3, config: Config, image_id: str) -> StoredManifest | None:
    """The image's manifest and its ETag; None when it has none."""
    try:
        response = s3.get_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id))
    except ClientError as error:
        if is_missing(error):
            return None
        raise
    return StoredManifest(Manifest.from_json(response["Body"].read()), response["ETag"])


def put(s3, config: Config, manifest: Manifest, **condition: str) -> str:
    """Write a manifest (with `IfNoneMatch="*"` or `IfMatch=etag`, a conditional write) and return its ETag.

    A 409 is retried with the same condition, as AWS advises. Retrying with the same If-Match is re-reading
    the ETag: if the other write changed it, the retry gets the 412 that says so, and only a 412 (or 404)
    lets the caller conclude it lost."""
    attempt = 1
    while True:
        try:
            response = s3.put_object(
                Bucket=config.processed_images_bucket,
                Key=manifest_key(manifest.id),
                Body=manifest.to_json(),
                ContentType="application/json",
                **condition,
            )
            return response["ETag"]
        except ClientError as error:
            if _code(error) not in _CONFLICT or attempt == CONFLICT_ATTEMPTS:
                raise
        logger.info("a conflicting write to the manifest was in progress; retrying", extra={"attempt": attempt})
        time.sleep(CONFLICT_BACKOFF_SECONDS * 2 ** (attempt - 1))
        attempt += 1


def claim(s3, config: Config, image_id: str, source_etag: str) -> StoredManifest:
    """Claim the image for the original of `source_etag`, or return whoever holds it already."""
    pending = Manifest.pending(image_id, source_etag)
    try:
        return StoredManifest(pending, put(s3, config, pending, IfNoneMatch="*"))
    except ClientError as error:
        if not is_condition_failed(error):
            raise
    existing = get(s3, config, image_id)
    if existing is None:  # removed between the two requests: let Lambda's retry look again
        raise RuntimeError(f"the manifest of {image_id} changed while it was being claimed")
    return existing


def publish(s3, config: Config, outcome: Manifest, held: StoredManifest) -> bool:
    """Write the outcome over exactly the claim `held`; False when the claim is gone (a tombstone or another
    delivery's outcome replaced it)."""
    try:
        put(s3, config, outcome, IfMatch=held.etag)
    except ClientError as error:
        if not (is_condition_failed(error) or is_missing(error)):
            raise
        return False
    return True


def tombstone(s3, config: Config, image_id: str) -> None:
    """Replace whatever manifest the image has with `deleted`, unconditionally: from here on no claim holds."""
    put(s3, config, Manifest.deleted(image_id))


def is_deleted(s3, config: Config, image_id: str) -> bool:
    """True when the image's manifest is a tombstone, or gone."""
    stored = get(s3, config, image_id)
    return stored is None or stored.manifest.status == DELETED


def is_missing(error: ClientError) -> bool:
    return _code(error) in _MISSING


def is_condition_failed(error: ClientError) -> bool:
    return _code(error) in _CONDITION_FAILED


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
