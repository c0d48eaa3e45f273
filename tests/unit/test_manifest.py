import json

import pytest
from imageservice.manifest import (
    DELETED,
    DONE,
    FAILED,
    MANIFEST_VERSION,
    PENDING,
    Failure,
    Manifest,
    OriginalInfo,
    StoredVariant,
)

DONE_MANIFEST = Manifest.done(
    "id", "0f343b0931126a20f133d67c2b018a3b", OriginalInfo(width=1, height=1, format="png", bytes=9),
    (StoredVariant("thumb", 1, 1, "png", "image/png", 70, "images/id/thumb.png"),), ("gps",),
    "L00000fQfQfQfQfQfQfQfQfQfQfQ",
)


@pytest.mark.parametrize("manifest", [
    DONE_MANIFEST,
    Manifest.failed("id", "corrupt_image", "Broken.", "0f343b0931126a20f133d67c2b018a3b"),
    Manifest.pending("id", "0f343b0931126a20f133d67c2b018a3b"),
    Manifest.pending("id"),
    Manifest.deleted("id"),
])
def test_every_state_round_trips_with_its_version(manifest):
    assert Manifest.from_json(manifest.to_json()) == manifest
    assert json.loads(manifest.to_json())["version"] == MANIFEST_VERSION == manifest.version


def test_encoding_is_deterministic():
    assert DONE_MANIFEST.to_json() == Manifest.from_json(DONE_MANIFEST.to_json()).to_json()
    keys = list(json.loads(DONE_MANIFEST.to_json()))
    assert keys == sorted(keys)


def test_only_outcomes_are_finished():
    assert [Manifest.pending("id").finished, DONE_MANIFEST.finished, Manifest.failed("id", "c", "m").finished,
            Manifest.deleted("id").finished] == [False, True, True, False]
    assert {PENDING, DONE, FAILED, DELETED} == {"pending", "done", "failed", "deleted"}


def test_failed_manifest_carries_the_reason():
    manifest = Manifest.from_json(Manifest.failed("id", "corrupt_image", "Broken.").to_json())
    assert manifest.status == FAILED and manifest.error == Failure("corrupt_image", "Broken.")


def test_version_1_manifests_still_read():
    stored = (b'{"error":{"code":"corrupt_image","message":"Broken."},"id":"id","status":"failed","version":1}')
    manifest = Manifest.from_json(stored)
    assert manifest.status == FAILED and manifest.source_etag is None and manifest.version == 1


@pytest.mark.parametrize("data", [
    b'{"version": 3, "status": "done"}',
    b'{"version": 2, "id": "id", "status": "weird"}',
    b'{"version": 1, "id": "id", "status": "pending"}',
    b'{"version": 2, "id": "id", "status": "done"}',
    b'{"version": 2, "id": "id", "status": "failed", "error": {"code": "x"}}',
    b'[]',
    b'not json',
])
def test_unknown_manifests_are_refused(data):
    with pytest.raises(ValueError):
        Manifest.from_json(data)


def test_states_hold_only_their_own_fields():
    with pytest.raises(ValueError):
        Manifest("id", DONE)
    with pytest.raises(ValueError):
        Manifest("id", PENDING, error=Failure("c", "m"))
