"""The manifest: the one record of how an image's processing ended, written last, read by the API."""

import json

MANIFEST_VERSION = 1
DONE = "done"
FAILED = "failed"


def done_manifest(
    image_id: str,
    original: dict,
    variants: list[dict],
    metadata_removed: list[str],
    placeholder: str,
) -> dict:
    """`variants` items hold name, width, height, format, content_type, bytes and key."""
    return {
        "version": MANIFEST_VERSION,
        "id": image_id,
        "status": DONE,
        "original": original,
        "variants": variants,
        "metadata_removed": metadata_removed,
        "placeholder": placeholder,
    }


def failed_manifest(image_id: str, code: str, message: str) -> dict:
    return {
        "version": MANIFEST_VERSION,
        "id": image_id,
        "status": FAILED,
        "error": {"code": code, "message": message},
    }


def encode_manifest(manifest: dict) -> bytes:
    # Sorted keys make a re-run write byte-identical manifests, so duplicate events change nothing.
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode("utf-8")


def decode_manifest(data: bytes) -> dict:
    manifest = json.loads(data)
    if manifest.get("version") != MANIFEST_VERSION or manifest.get("status") not in (DONE, FAILED):
        raise ValueError(f"unrecognised manifest {manifest.get('version')!r}/{manifest.get('status')!r}")
    return manifest
