"""Removing an image now: its original, its variants, its derived images, its status object and its manifest,
leaving a tombstone in its place, and asking for its derived images to leave CloudFront's caches too."""

from imageservice import progress, records
from imageservice.config import Config
from imageservice.errors import NotFound
from imageservice.keys import derived_prefix, image_prefix, invalidation_key, is_image_id, manifest_key, upload_key


class DeletionIncomplete(Exception):
    """S3 refused to delete some of the image's objects; the DELETE may be repeated."""


def delete_image(s3, config: Config, image_id: str, owner: str | None = None) -> int:
    """Delete every object of the image and return how many there were.

    The tombstone (a `deleted` manifest) is written first. Processing publishes only by replacing its own
    claim on the manifest, so from here on it cannot publish: what it wrote before is in the listing below,
    and what it writes after, it removes itself. The tombstone also keeps a second use of the image's upload
    ticket from bringing it back; it holds no image data and expires with the variants (VariantsExpireDays).
    Rendering stores a derived image before it reads the manifest again, so it too is listed here or removes its own.

    Last, an invalidations/{id} object asks InvalidateFunction to drop /img/{id}/* from CloudFront's caches: always,
    since the edge may keep a derived image for a year, longer than the bucket (its lifecycle) does. With sign-in
    on, `owner` is the owner's hash: their derived images are under /img/{owner}/{id}/ (keys.py)."""
    if not is_image_id(image_id):
        raise NotFound("No image has this id.")
    manifest = manifest_key(image_id)
    originals = _keys(s3, config.stored_images_bucket, upload_key(image_id))
    processed = _keys(s3, config.processed_images_bucket, image_prefix(image_id))
    # The manifest is read only when listed: this role may list only by prefix, so a missing key reads 403.
    if not originals and processed <= {manifest} and (not processed or records.is_deleted(s3, config, image_id)):
        progress.remove(s3, config, image_id)  # an upload ticket never used leaves its `pending` status
        raise NotFound("No image has this id.")
    records.tombstone(s3, config, image_id)
    # After the tombstone: an outcome's status written from here on is removed by its writer (imageservice.progress).
    progress.remove(s3, config, image_id)
    deleted = _delete(s3, config.stored_images_bucket, originals)
    deleted += _delete(s3, config.processed_images_bucket,
                       _keys(s3, config.processed_images_bucket, image_prefix(image_id)) - {manifest})
    deleted += _delete(s3, config.processed_images_bucket, _keys(s3, config.processed_images_bucket,
                                                                 derived_prefix(image_id, owner)))
    s3.put_object(Bucket=config.stored_images_bucket, Key=invalidation_key(image_id, owner), Body=b"")
    return deleted + 1  # and the manifest, now a tombstone


def _keys(s3, bucket: str, prefix: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


def _delete(s3, bucket: str, keys: set[str]) -> int:
    ordered = sorted(keys)
    for start in range(0, len(ordered), 1000):  # DeleteObjects takes at most 1,000 keys
        batch = [{"Key": key} for key in ordered[start:start + 1000]]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        # A batch delete answers 200 even when S3 refused keys; a 204 would then claim a deletion that did not happen.
        if errors := answer.get("Errors"):
            first = errors[0]
            raise DeletionIncomplete(f"S3 kept {len(errors)} object(s) in {bucket}, e.g. {first.get('Key')}: "
                                     f"{first.get('Code')}")
    return len(ordered)
