"""Invalidating a deleted image's derived images at CloudFront: one wildcard path per image."""

import time
from dataclasses import dataclass
from urllib.parse import unquote_plus

from imageservice.keys import derived_paths, parse_invalidation_key


@dataclass(frozen=True)
class InvalidationRequest:
    key: str
    image_id: str | None  # None for a key outside the invalidations/ layout
    owner: str | None  # the owner's hash with sign-in on (the derived images' paths name it)
    reference: str  # the same for a repeated delivery of one event, so CloudFront makes one invalidation of it


def parse_invalidation_record(record: dict) -> InvalidationRequest:
    """One record of the S3 ObjectCreated event of an invalidations/{id} object."""
    key = unquote_plus(record["s3"]["object"]["key"])
    sequencer = record["s3"]["object"].get("sequencer") or str(time.time_ns())
    image_id, owner = parse_invalidation_key(key) or (None, None)
    return InvalidationRequest(key, image_id, owner, f"{image_id}-{sequencer}")


def invalidate(cloudfront, distribution_id: str, request: InvalidationRequest) -> str:
    """Ask CloudFront to drop every cached /img/{id}/... (/img/{owner}/{id}/...) of the image; returns the
    invalidation's id."""
    answer = cloudfront.create_invalidation(DistributionId=distribution_id, InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": [derived_paths(request.image_id, request.owner)]},
        "CallerReference": request.reference,
    })
    return answer["Invalidation"]["Id"]
