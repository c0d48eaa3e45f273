"""Turning one stored original into variants and a manifest in the processed-images bucket."""

from dataclasses import dataclass
from urllib.parse import unquote_plus

import imaging
from botocore.exceptions import ClientError
from imageservice.config import Config
from imageservice.errors import InvalidOption
from imageservice.keys import manifest_key, parse_upload_key, variant_key
from imageservice.manifest import done_manifest, encode_manifest, failed_manifest
from imageservice.options import ImageOptions

VARIANT_CACHE_CONTROL = "private, max-age=31536000, immutable"


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    image_id: str | None  # None when the key is outside the uploads/ layout


def parse_upload_record(record: dict) -> StoredObject:
    """One record of an S3 ObjectCreated event."""
    # S3 sends keys URL-encoded with spaces as '+'; this is the one place that decodes them.
    key = unquote_plus(record["s3"]["object"]["key"])
    return StoredObject(bucket=record["s3"]["bucket"]["name"], key=key, image_id=parse_upload_key(key))


def recipe_for(config: Config, options: ImageOptions) -> imaging.Recipe:
    return imaging.Recipe(
        variants=tuple(imaging.VariantSpec(size.name, size.long_edge) for size in config.variants),
        output_format=options.format,
        quality=options.quality or config.default_quality,
        filters=options.filters,
        max_pixels=config.max_pixels,
        threads=config.threads,
    )


def render(
    image_id: str, data: bytes, metadata: dict[str, str], config: Config
) -> tuple[dict, tuple[imaging.Variant, ...]]:
    """The manifest and the variants for one original; bad images give a `failed` manifest, not an error."""
    try:
        processed = imaging.build_variants(data, recipe_for(config, ImageOptions.from_strings(metadata)))
    except (imaging.ImageRejected, InvalidOption) as rejection:
        return failed_manifest(image_id, rejection.code, rejection.message), ()
    variants = [
        {"name": v.name, "width": v.width, "height": v.height, "format": v.format,
         "content_type": v.content_type, "bytes": len(v.data), "key": variant_key(image_id, v.name, v.extension)}
        for v in processed.variants
    ]
    original = {"width": processed.original.width, "height": processed.original.height,
                "format": processed.original.format, "bytes": processed.original.bytes}
    manifest = done_manifest(image_id, original, variants, list(processed.metadata_removed), processed.placeholder)
    return manifest, processed.variants


def process_upload(s3, config: Config, stored: StoredObject) -> dict | None:
    """Process one original; returns the manifest written, or None when there was nothing to do."""
    try:
        original = s3.get_object(Bucket=stored.bucket, Key=stored.key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None  # deleted before this event arrived
        raise
    manifest, variants = render(stored.image_id, original["Body"].read(), original.get("Metadata", {}), config)
    for variant in variants:
        s3.put_object(
            Bucket=config.processed_images_bucket,
            Key=variant_key(stored.image_id, variant.name, variant.extension),
            Body=variant.data,
            ContentType=variant.content_type,
            ContentDisposition=f'inline; filename="{variant.name}.{variant.extension}"',
            CacheControl=VARIANT_CACHE_CONTROL,
        )
    # Written last: a manifest means every variant it names is already in place.
    s3.put_object(
        Bucket=config.processed_images_bucket,
        Key=manifest_key(stored.image_id),
        Body=encode_manifest(manifest),
        ContentType="application/json",
    )
    return manifest
