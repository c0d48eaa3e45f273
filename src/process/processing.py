"""Turning one stored original into variants and a manifest in the processed-images bucket.

One image id has one original. Before any variant is written, processing claims the id with a `pending`
manifest naming the original's ETag (a write that succeeds only where no manifest exists), and the
outcome replaces exactly that claim (a write conditional on the claim's ETag). So:
- a DELETE, which replaces the manifest with a tombstone before it lists what to remove, makes the
  outcome's write fail: processing then removes what it wrote, and nothing published survives a DELETE;
- a second object under the same key (an upload ticket used again) finds the id claimed, finished or
  deleted, and is never processed; once the image is finished or deleted, that object is removed;
- a repeated or racing delivery of the same original finds its own claim and ends in the same bytes.
The manifest's reads and conditional writes live in imageservice.records, which states the contract."""

import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_plus

import imaging
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from imageservice import progress, records
from imageservice.config import Config
from imageservice.errors import InvalidOption
from imageservice.keys import parse_upload_key, variant_key
from imageservice.manifest import DELETED, PENDING, Manifest, OriginalInfo, StoredVariant
from imageservice.options import ImageOptions
from imageservice.records import OriginalMetadata
from imageservice.tracing import get_tracer

VARIANT_CACHE_CONTROL = "private, max-age=31536000, immutable"
# The share of the function's memory the child that decodes and encodes one image may add to what it inherits
# (imaging.isolation); the rest is the handler's: the runtime and boto3 (about 150 MB), the original's bytes
# and the variants it writes, and the outcome it records when the child reached its limit.
CHILD_MEMORY_SHARE = 0.75
_MIB = 1024 * 1024

logger = Logger(child=True)


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    image_id: str | None  # None when the key is outside the uploads/ layout
    stored_at: datetime | None = None  # when S3 stored the object (the event's eventTime)
    s3_request_id: str | None = None  # S3's id of the request that stored it (CloudTrail, S3 access logs)


def parse_upload_record(record: dict) -> StoredObject:
    """One record of an S3 ObjectCreated event."""
    # S3 sends keys URL-encoded with spaces as '+'; this is the one place that decodes them.
    key = unquote_plus(record["s3"]["object"]["key"])
    return StoredObject(bucket=record["s3"]["bucket"]["name"], key=key, image_id=parse_upload_key(key),
                        stored_at=_event_time(record.get("eventTime")),
                        s3_request_id=(record.get("responseElements") or {}).get("x-amz-request-id"))


def _event_time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def recipe_for(config: Config, options: ImageOptions) -> imaging.Recipe:
    return imaging.Recipe(
        variants=tuple(imaging.VariantSpec(size.name, size.long_edge) for size in config.variants),
        output_format=options.format,
        quality=options.quality or config.default_quality,
        filters=options.filters,
        max_pixels=config.max_pixels,
        threads=config.threads,
    )


def limits_for(config: Config, deadline: float | None) -> imaging.Limits:
    """What the child processing one image may use: its share of the memory, and no more CPU time than its
    threads can spend before the deadline."""
    memory = None if config.memory_mb is None else int(config.memory_mb * CHILD_MEMORY_SHARE) * _MIB
    cpu = None if deadline is None else max(deadline - time.monotonic(), 0.0) * config.threads
    return imaging.Limits(memory_bytes=memory, cpu_seconds=cpu)


def render(
    image_id: str, data: bytes, metadata: dict[str, str], config: Config, source_etag: str | None = None,
    deadline: float | None = None,
) -> tuple[Manifest, tuple[imaging.Variant, ...]]:
    """The manifest and the variants to store for one original; bad images give a `failed` manifest, not an
    error. A variant that repeats a larger one is not stored: the larger one's entry lists its name.

    deadline (time.monotonic() seconds) bounds the processing: work that cannot finish by then fails too. The
    image is decoded and encoded in a forked child under limits_for's limits (imaging.isolation): a job that
    reaches one fails here, in this invocation, and this process is as it was for the next one.
    """
    try:
        record = OriginalMetadata.from_s3(metadata)
        recipe = recipe_for(config, record.options)
        # One span around the isolated job: its arguments are pickled to the worker, and a tracer is not.
        with get_tracer().span("build variants"):
            processed = imaging.run_isolated(imaging.build_variants, data, recipe, deadline,
                                             limits=limits_for(config, deadline), deadline=deadline)
    except (imaging.ImageRejected, InvalidOption) as rejection:
        return Manifest.failed(image_id, rejection.code, rejection.message, source_etag), ()
    distinct = distinct_variants(processed.variants)
    variants = tuple(
        StoredVariant(name=v.name, width=v.width, height=v.height, format=v.format, content_type=v.content_type,
                      bytes=len(v.data), key=variant_key(image_id, v.name, v.extension), aliases=aliases)
        for v, aliases in distinct
    )
    source = processed.original
    original = OriginalInfo(width=source.width, height=source.height, format=source.format, bytes=source.bytes,
                            name=record.name)
    manifest = Manifest.done(image_id, source_etag, original, variants, processed.metadata_removed,
                             processed.placeholder)
    return manifest, tuple(v for v, _ in distinct)


def distinct_variants(variants: tuple[imaging.Variant, ...]) -> list[tuple[imaging.Variant, tuple[str, ...]]]:
    """Each variant with the names of the smaller ones that came out the same size (an image smaller than
    their edges), in recipe order: smaller variants come from larger results, so same size is same image."""
    kept: dict[tuple[int, int, str], tuple[imaging.Variant, list[str]]] = {}
    for variant in variants:
        same = (variant.width, variant.height, variant.format)
        if same in kept:
            kept[same][1].append(variant.name)
        else:
            kept[same] = (variant, [])
    return [(variant, tuple(aliases)) for variant, aliases in kept.values()]


def process_upload(s3, config: Config, stored: StoredObject, deadline: float | None = None) -> Manifest | None:
    """Process one original; returns the outcome written, or None when there was nothing to do."""
    claim = records.get(s3, config, stored.image_id)
    if claim is not None and claim.manifest.status != PENDING:
        _show_outcome_again(s3, config, claim.manifest)
        _remove_later_original(s3, stored, claim.manifest)
        return None
    try:
        original = s3.get_object(Bucket=stored.bucket, Key=stored.key)
    except ClientError as error:
        if records.is_missing(error):
            return None  # deleted before this event arrived
        raise
    source_etag = original["ETag"].strip('"')
    if claim is None:
        claim = records.claim(s3, config, stored.image_id, source_etag)
    if claim.manifest.status != PENDING:
        _show_outcome_again(s3, config, claim.manifest)
        _remove_later_original(s3, stored, claim.manifest)
        return None
    if claim.manifest.source_etag != source_etag:
        # Another object under this key holds the claim; its own delivery finishes the image.
        logger.warning("a second original under a claimed image id was not processed")
        return None
    manifest, variants = render(stored.image_id, original["Body"].read(), original.get("Metadata", {}), config,
                                source_etag, deadline)
    with get_tracer().span("store variants"):
        for variant in variants:
            s3.put_object(
                Bucket=config.processed_images_bucket,
                Key=variant_key(stored.image_id, variant.name, variant.extension),
                Body=variant.data,
                ContentType=variant.content_type,
                ContentDisposition=f'inline; filename="{variant.name}.{variant.extension}"',
                CacheControl=VARIANT_CACHE_CONTROL,
            )
    # Written last, and only over this original's claim: a manifest means every variant it names is in place,
    # and a DELETE that came first (its tombstone replaced the claim) wins.
    with get_tracer().span("publish manifest"):
        published = records.publish(s3, config, manifest, claim)
    if published:
        # Then the status object waiting clients poll (imageservice.progress): the API has the outcome by now.
        with get_tracer().span("publish status"):
            progress.publish(s3, config, manifest)
        return manifest
    now = records.get(s3, config, stored.image_id)
    if now is not None and now.manifest.finished and now.manifest.source_etag == source_etag:
        progress.publish(s3, config, now.manifest)
        return now.manifest  # a duplicate delivery of this original finished first, with the same bytes
    _remove_variants(s3, config, manifest)
    logger.info("image deleted during processing; its variants were removed")
    return None


def _show_outcome_again(s3, config: Config, manifest: Manifest) -> None:
    """A repeated event for a finished image writes its status object again (the same bytes): a delivery that
    stopped between the manifest and the status object leaves no client waiting on `pending`."""
    if manifest.finished:
        progress.publish(s3, config, manifest)


def _remove_variants(s3, config: Config, manifest: Manifest) -> None:
    for variant in manifest.variants:
        s3.delete_object(Bucket=config.processed_images_bucket, Key=variant.key)


def _remove_later_original(s3, stored: StoredObject, manifest: Manifest) -> None:
    """An object under the key of a finished or deleted image is a second use of its upload ticket: remove it.

    After a tombstone nothing under the key belongs to an image; after an outcome, only the original whose
    ETag it names does (a manifest without one predates this rule, and nothing is removed)."""
    if manifest.status != DELETED and manifest.source_etag is None:
        return
    try:
        head = s3.head_object(Bucket=stored.bucket, Key=stored.key)
    except ClientError as error:
        if records.is_missing(error):
            return
        raise
    etag = head["ETag"].strip('"')
    if manifest.status != DELETED and etag == manifest.source_etag:
        return  # the image's own original: a repeated event
    try:
        s3.delete_object(Bucket=stored.bucket, Key=stored.key, IfMatch=head["ETag"])
    except ClientError as error:
        if not (records.is_condition_failed(error) or records.is_missing(error)):
            raise  # replaced again meanwhile: that object's own event decides about it
    logger.warning("removed a second original under a finished or deleted image id", extra={"status": manifest.status})

