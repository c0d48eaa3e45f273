import pytest
from imageservice.manifest import decode_manifest, done_manifest, encode_manifest, failed_manifest


def test_manifests_round_trip_and_encode_deterministically():
    manifest = done_manifest("id", {"width": 1, "height": 1, "format": "png", "bytes": 9},
                             [{"name": "thumb", "key": "images/id/thumb.png"}], ["gps"], "L00000fQfQfQfQfQfQfQfQfQfQfQ")
    assert decode_manifest(encode_manifest(manifest)) == manifest
    assert encode_manifest(manifest) == encode_manifest(dict(reversed(list(manifest.items()))))


def test_failed_manifest_carries_the_reason():
    manifest = decode_manifest(encode_manifest(failed_manifest("id", "corrupt_image", "Broken.")))
    assert manifest["status"] == "failed"
    assert manifest["error"] == {"code": "corrupt_image", "message": "Broken."}


@pytest.mark.parametrize("data", [b'{"version": 2, "status": "done"}', b'{"version": 1, "status": "weird"}'])
def test_unknown_manifests_are_refused(data):
    with pytest.raises(ValueError):
        decode_manifest(data)
