"""An image's status object: what a waiting client polls, through CloudFront, instead of holding a function.

`status/{id}` in the processed-images bucket (keys.status_key) holds `{"status": "pending"}`, `{"status": "done"}`
or `{"status": "failed", "code": "<the failure's code>"}`, and nothing else: no name, size, owner or message
(GET /api/images/{id} tells those, to whoever may ask). CloudFront's /status/* behaviour serves it with a
one-second TTL and its S3 ETag, so a client polling it with If-None-Match costs CloudFront requests answered
304, and no Lambda time (docs/delivery.md, "Waiting without holding Lambdas").

Who writes it, in an order that leaves no stale state behind:
- `pending`, by UploadFunction, before the original can exist (before it is stored, or before the upload
  ticket is handed out): it can never land after an outcome;
- `done` or `failed`, by ProcessFunction once the manifest (the API's record) holds the outcome, and again
  from the manifest when an event is delivered twice: the same bytes, hence the same ETag, whatever the
  number of deliveries;
- removed by DeleteFunction, after the tombstone. An outcome written while a DELETE runs is read back against
  the manifest right after the write: a tombstone there means the DELETE came first, and the writer removes
  the object itself (S3 is strongly consistent, so one of the two removals always sees the other's write).

An object can be missing (the image was deleted, expired with its variants, or predates status objects):
CloudFront then answers 403 (it may not list the bucket), and clients ask the API once.
"""

import json
from dataclasses import dataclass

from . import records
from .config import Config
from .keys import status_key
from .manifest import DELETED, DONE, FAILED, PENDING, Manifest

# Every status object says so; the /status/* cache policy keeps it at most this long at the edge as well.
CACHE_CONTROL = "max-age=1"
# How often clients poll it (the page and the CLI): the figures in docs/delivery.md are per this interval.
POLL_SECONDS = 1
STATES = (PENDING, DONE, FAILED)


@dataclass(frozen=True)
class Status:
    status: str
    code: str | None = None  # the failure's code; only for failed

    def __post_init__(self):
        if self.status not in STATES:
            raise ValueError(f"not a status: {self.status!r}")
        if (self.status == FAILED) != (self.code is not None):
            raise ValueError("a failed status, and only a failed one, has a code")

    @classmethod
    def of(cls, manifest: Manifest) -> "Status":
        """The status that shows a manifest's outcome (done or failed)."""
        if manifest.status == FAILED:
            return cls(FAILED, manifest.error.code)
        if manifest.status == DONE:
            return cls(DONE)
        raise ValueError(f"a {manifest.status} manifest has no status to publish")

    def to_json(self) -> bytes:
        data = {"status": self.status, **({"code": self.code} if self.code is not None else {})}
        # Sorted and compact: a repeated write stores the same bytes, so the ETag (and every client's 304) holds.
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _put(s3, config: Config, image_id: str, status: Status) -> None:
    s3.put_object(Bucket=config.processed_images_bucket, Key=status_key(image_id), Body=status.to_json(),
                  ContentType="application/json", CacheControl=CACHE_CONTROL)


def write_pending(s3, config: Config, image_id: str) -> None:
    """The status of a new image id, written before its original can exist (UploadFunction)."""
    _put(s3, config, image_id, Status(PENDING))


def publish(s3, config: Config, manifest: Manifest) -> bool:
    """Show the manifest's outcome (ProcessFunction, after the manifest is written); False when a DELETE came
    first, in which case the object is removed again."""
    _put(s3, config, manifest.id, Status.of(manifest))
    stored = records.get(s3, config, manifest.id)
    if stored is None or stored.manifest.status == DELETED:
        remove(s3, config, manifest.id)
        return False
    return True


def remove(s3, config: Config, image_id: str) -> None:
    """Remove the status object (S3 answers a missing key's DELETE with 204 too)."""
    s3.delete_object(Bucket=config.processed_images_bucket, Key=status_key(image_id))
