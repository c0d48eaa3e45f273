"""imageservice.records: the original's metadata both ways, and the manifest's claim/tombstone contract over moto.

The contract: a claim is taken only where no manifest exists; an outcome is published only over the claim it
was taken with; a tombstone replaces whatever is there, so nothing published after it survives."""

import pytest
from imageservice import records
from imageservice.errors import InvalidOption
from imageservice.keys import manifest_key, new_image_id
from imageservice.manifest import DELETED, DONE, PENDING, Manifest, OriginalInfo
from imageservice.options import ImageOptions
from imageservice.records import OriginalMetadata


# ------------------------------------------------------------------------------ the original's metadata
def test_metadata_round_trips_as_ascii_headers():
    record = OriginalMetadata.of_upload(ImageOptions("webp", 70, ("sepia", "blur")), "sub-1", "C:\\x\\été à Zürich.JPG")
    stored = record.to_s3()
    assert all(name.isascii() and value.isascii() for name, value in stored.items())
    assert OriginalMetadata.from_s3(stored) == OriginalMetadata(ImageOptions("webp", 70, ("sepia", "blur")), "sub-1",
                                                                "été à Zürich")


def test_metadata_without_owner_or_name_stores_only_the_options():
    stored = OriginalMetadata.of_upload(ImageOptions(), None, "...").to_s3()
    assert stored == ImageOptions().to_strings()
    assert OriginalMetadata.from_s3(stored) == OriginalMetadata(ImageOptions())


def test_metadata_read_back_is_checked_again():
    # Metadata is whatever the uploader's signed request carried: the name is sanitised, the options validated.
    assert OriginalMetadata.from_s3({"original-name": "..%2Fx%0Ay.png"}).name == "x_y"
    with pytest.raises(InvalidOption):
        OriginalMetadata.from_s3({"format": "gif"})
    with pytest.raises(InvalidOption):
        OriginalMetadata.from_s3({"format": "png", "colour": "red"})


# ------------------------------------------------------------------------------ the manifest's contract
def done(image_id: str, source_etag: str) -> Manifest:
    return Manifest.done(image_id, source_etag, OriginalInfo(8, 8, "jpeg", 99), (), (), "LKO2?U%2Tw=w")


def test_get_is_none_without_a_manifest_and_put_returns_what_get_reads(s3, config):
    image_id = new_image_id()
    assert records.get(s3, config, image_id) is None
    etag = records.put(s3, config, done(image_id, "e1"))
    assert records.get(s3, config, image_id) == records.StoredManifest(done(image_id, "e1"), etag)


def test_the_first_claim_holds_and_a_second_original_gets_the_first_claim(s3, config):
    image_id = new_image_id()
    first = records.claim(s3, config, image_id, "etag-a")
    assert first.manifest == Manifest.pending(image_id, "etag-a")
    second = records.claim(s3, config, image_id, "etag-b")
    assert second == first  # the caller sees the claim is not its own and stops


def test_an_outcome_is_published_over_its_own_claim_only(s3, config):
    image_id = new_image_id()
    held = records.claim(s3, config, image_id, "etag-a")
    assert records.publish(s3, config, done(image_id, "etag-a"), held)
    assert records.get(s3, config, image_id).manifest.status == DONE
    # The claim is spent: a second publish over it (a duplicate delivery) loses and changes nothing.
    assert not records.publish(s3, config, Manifest.failed(image_id, "x", "y", "etag-a"), held)
    assert records.get(s3, config, image_id).manifest.status == DONE


def test_a_tombstone_wins_over_a_claim_and_reads_as_deleted(s3, config):
    image_id = new_image_id()
    held = records.claim(s3, config, image_id, "etag-a")
    assert not records.is_deleted(s3, config, image_id)
    records.tombstone(s3, config, image_id)
    assert not records.publish(s3, config, done(image_id, "etag-a"), held)
    assert records.get(s3, config, image_id).manifest.status == DELETED
    assert records.is_deleted(s3, config, image_id)
    # A late delivery finds the tombstone: its claim is refused and it gets the tombstone back.
    assert records.claim(s3, config, image_id, "etag-b").manifest.status == DELETED


def test_a_manifest_removed_since_listing_reads_as_deleted(s3, config):
    assert records.is_deleted(s3, config, new_image_id())


def test_a_publish_after_the_manifest_vanished_loses(s3, config):
    image_id = new_image_id()
    held = records.claim(s3, config, image_id, "etag-a")
    assert held.manifest.status == PENDING
    s3.delete_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id))
    assert not records.publish(s3, config, done(image_id, "etag-a"), held)
    assert records.get(s3, config, image_id) is None
