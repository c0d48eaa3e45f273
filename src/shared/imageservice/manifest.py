"""The manifest: the one record of an image's processing, stored next to its variants, read by the API.

States: `pending` (processing has claimed the original: the stored claim, or the API's stand-in while
there is none), `done` and `failed` (the outcome, written last), and `deleted` (the tombstone DELETE
leaves, so neither a late event nor a second use of an upload ticket can bring the image back)."""

import json
from dataclasses import dataclass

MANIFEST_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: done and failed only, written before claims and tombstones
PENDING = "pending"
DONE = "done"
FAILED = "failed"
DELETED = "deleted"
STATES = (PENDING, DONE, FAILED, DELETED)


@dataclass(frozen=True)
class OriginalInfo:
    width: int  # after EXIF orientation
    height: int
    format: str
    bytes: int


@dataclass(frozen=True)
class StoredVariant:
    name: str
    width: int
    height: int
    format: str
    content_type: str
    bytes: int
    key: str  # in the processed-images bucket; never shown to clients


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


@dataclass(frozen=True)
class Manifest:
    id: str
    status: str
    # The ETag of the original that processing read: an image id has one original, and a second object
    # under the same key (an upload ticket used again) is told apart by it.
    source_etag: str | None = None
    original: OriginalInfo | None = None
    variants: tuple[StoredVariant, ...] = ()
    metadata_removed: tuple[str, ...] = ()
    placeholder: str | None = None
    error: Failure | None = None
    version: int = MANIFEST_VERSION

    def __post_init__(self):
        if self.status not in STATES:
            raise ValueError(f"unknown manifest status {self.status!r}")
        if (self.status == DONE) != (self.original is not None and self.placeholder is not None):
            raise ValueError("a done manifest, and only a done one, has an original and a placeholder")
        if (self.status == FAILED) != (self.error is not None):
            raise ValueError("a failed manifest, and only a failed one, has an error")

    @classmethod
    def pending(cls, image_id: str, source_etag: str | None = None) -> "Manifest":
        return cls(image_id, PENDING, source_etag)

    @classmethod
    def done(cls, image_id: str, source_etag: str | None, original: OriginalInfo,
             variants: tuple[StoredVariant, ...], metadata_removed: tuple[str, ...], placeholder: str) -> "Manifest":
        return cls(image_id, DONE, source_etag, original, tuple(variants), tuple(metadata_removed), placeholder)

    @classmethod
    def failed(cls, image_id: str, code: str, message: str, source_etag: str | None = None) -> "Manifest":
        return cls(image_id, FAILED, source_etag, error=Failure(code, message))

    @classmethod
    def deleted(cls, image_id: str) -> "Manifest":
        return cls(image_id, DELETED)

    @property
    def finished(self) -> bool:
        """True for an outcome (done or failed), the only states the API shows from storage."""
        return self.status in (DONE, FAILED)

    def variant(self, name: str) -> StoredVariant | None:
        return next((variant for variant in self.variants if variant.name == name), None)

    def to_json(self) -> bytes:
        data: dict = {"version": self.version, "id": self.id, "status": self.status}
        if self.source_etag is not None:
            data["source_etag"] = self.source_etag
        if self.status == DONE:
            data["original"] = vars(self.original)
            data["variants"] = [vars(variant) for variant in self.variants]
            data["metadata_removed"] = list(self.metadata_removed)
            data["placeholder"] = self.placeholder
        if self.error is not None:
            data["error"] = vars(self.error)
        # Sorted keys make a re-run write byte-identical manifests, so duplicate events change nothing.
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> "Manifest":
        """The stored manifest; ValueError for anything this code did not write."""
        try:
            data = json.loads(raw)
            version, status = data["version"], data["status"]
            if version not in READABLE_VERSIONS or (version == 1 and status not in (DONE, FAILED)):
                raise ValueError(f"unrecognised manifest {version!r}/{status!r}")
            return cls(
                id=data["id"],
                status=status,
                source_etag=data.get("source_etag"),
                original=OriginalInfo(**data["original"]) if status == DONE else None,
                variants=tuple(StoredVariant(**variant) for variant in data.get("variants", ())),
                metadata_removed=tuple(data.get("metadata_removed", ())),
                placeholder=data.get("placeholder"),
                error=Failure(**data["error"]) if "error" in data else None,
                version=version,
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"malformed manifest: {error!r}") from None
