import pytest
from imageservice.keys import (
    DERIVED_FORMATS,
    DERIVED_PREFIX,
    INVALIDATION_PREFIX,
    UPLOAD_PREFIX,
    derived_key,
    derived_paths,
    derived_prefix,
    image_prefix,
    invalidation_key,
    is_image_id,
    manifest_key,
    new_image_id,
    parse_derived_key,
    parse_invalidation_key,
    parse_upload_key,
    upload_key,
    variant_key,
)


def test_new_ids_are_uuid4_and_distinct():
    ids = {new_image_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(is_image_id(image_id) for image_id in ids)


@pytest.mark.parametrize("value", [
    "", "not-a-uuid", "3F0C9A56-8D1E-4C1B-9A59-2F4D6C7B8E90",  # upper case is not what we hand out
    "3f0c9a56-8d1e-1c1b-9a59-2f4d6c7b8e90",  # version 1
    "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/../x", "3f0c9a568d1e4c1b9a592f4d6c7b8e90",
    "3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90\n",
])
def test_is_image_id_rejects_everything_else(value):
    assert not is_image_id(value)


def test_upload_key_round_trip():
    image_id = new_image_id()
    assert upload_key(image_id) == f"{UPLOAD_PREFIX}{image_id}"
    assert parse_upload_key(upload_key(image_id)) == image_id


@pytest.mark.parametrize("key", [
    "uploads/holiday photo.jpg", "uploads/a+b.jpg", "uploads/фото.jpg", "images/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90",
    "uploads/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/extra", "uploads/", "x/uploads/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90",
])
def test_parse_upload_key_ignores_keys_outside_the_layout(key):
    assert parse_upload_key(key) is None


def test_output_keys_live_under_the_image_prefix():
    image_id = new_image_id()
    assert variant_key(image_id, "thumb", "webp") == f"images/{image_id}/thumb.webp"
    assert manifest_key(image_id) == f"images/{image_id}/manifest.json"
    assert variant_key(image_id, "thumb", "webp").startswith(image_prefix(image_id))


def test_owner_entries_round_trip_and_sort_newest_first():
    from imageservice.keys import newest_key, newest_prefix, ownership_key, parse_newest_entry, parse_ownership_key

    older, newer = new_image_id(), new_image_id()
    keys = [newest_key("alice", older, 1_700_000_000_000), newest_key("alice", newer, 1_700_000_000_001)]
    assert sorted(keys) == keys[::-1]
    prefix = newest_prefix("alice")
    assert [parse_newest_entry(key[len(prefix):]) for key in keys] == [
        (older, 1_700_000_000_000), (newer, 1_700_000_000_001)]
    assert parse_ownership_key(ownership_key("alice", older, 1_700_000_000_000)) == 1_700_000_000_000
    assert newest_prefix("alice") != newest_prefix("alice2") and not newest_prefix("alice").count("alice")
    for forged in ("", "../x", "0000000000000-not-an-id", f"000000000000-{older}", f"0000000000000-{older}/x"):
        assert parse_newest_entry(forged) is None


def test_derived_key_round_trip_for_every_format():
    image_id = new_image_id()
    for fmt in DERIVED_FORMATS:
        key = derived_key(image_id, 640, fmt)
        assert key == f"img/{image_id}/640.{fmt}"
        assert key.startswith(derived_prefix(image_id)) and key.startswith(DERIVED_PREFIX)
        assert parse_derived_key(key) == (image_id, 640, fmt, None)
    with pytest.raises(ValueError):
        derived_key(image_id, 640, "auto")


@pytest.mark.parametrize("key", [
    "img/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/640.auto", "img/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/0640.webp",
    "img/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/640.webp/x", "images/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/640.webp",
    "/img/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/640.webp", "img/3F0C9A56-8D1E-4C1B-9A59-2F4D6C7B8E90/640.webp",
    "img/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/640.jpg", "img/3f0c9a56-8d1e-4c1b-9a59-2f4d6c7b8e90/640.webp\n",
])
def test_parse_derived_key_ignores_keys_outside_the_layout(key):
    assert parse_derived_key(key) is None


def test_an_owner_s_derived_keys_name_the_owner_first():
    from imageservice.keys import delivery_path, owner_hash

    image_id, owner = new_image_id(), owner_hash("alice")
    key = derived_key(image_id, 640, "webp", owner)
    assert key == f"img/{owner}/{image_id}/640.webp" and key.startswith(derived_prefix(image_id, owner))
    assert parse_derived_key(key) == (image_id, 640, "webp", owner)
    assert f"/{key}".startswith(delivery_path(owner) + "/") and delivery_path() == "/img"
    for forged in (f"img/{owner.upper()}/{image_id}/640.webp", f"img/{owner[:-1]}/{image_id}/640.webp",
                   f"img/{owner}/{owner}/{image_id}/640.webp", f"img/alice/{image_id}/640.webp"):
        assert parse_derived_key(forged) is None, forged


def test_one_invalidation_path_covers_every_derived_key():
    from imageservice.keys import owner_hash

    image_id, owner = new_image_id(), owner_hash("alice")
    assert derived_paths(image_id) == f"/img/{image_id}/*"
    assert f"/{derived_key(image_id, 2560, 'fallback')}".startswith(derived_paths(image_id)[:-1])
    assert derived_paths(image_id, owner) == f"/img/{owner}/{image_id}/*"
    assert f"/{derived_key(image_id, 2560, 'fallback', owner)}".startswith(derived_paths(image_id, owner)[:-1])


def test_invalidation_key_round_trip():
    from imageservice.keys import owner_hash

    image_id, owner = new_image_id(), owner_hash("alice")
    assert invalidation_key(image_id).startswith(INVALIDATION_PREFIX)
    assert parse_invalidation_key(invalidation_key(image_id)) == (image_id, None)
    assert parse_invalidation_key(invalidation_key(image_id, owner)) == (image_id, owner)
    assert parse_invalidation_key(upload_key(image_id)) is None
    assert parse_invalidation_key(f"{INVALIDATION_PREFIX}{image_id}/x") is None
    assert parse_invalidation_key(f"{INVALIDATION_PREFIX}alice/{image_id}") is None
