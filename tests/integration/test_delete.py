"""DELETE /api/images/{id} over moto, and what it means for processing: a DELETE during processing is not
undone, and an upload ticket used again brings back neither a finished image's other bytes nor a deleted one."""

import hashlib
from unittest import mock

import pytest
from imageservice.aws import s3_client
from imageservice.keys import image_prefix, manifest_key, new_image_id, upload_key
from imageservice.manifest import DONE, Manifest
from lambda_responses import response_json

from devstack.iam import acting_as


def delete(invoke, load_event, http_event, image_id):
    event = http_event(load_event("delete_image.json"), path=f"/api/images/{image_id}",
                       path_parameters={"id": image_id})
    return invoke("DeleteFunction", event)


@pytest.fixture
def status(invoke, load_event, http_event):
    def get(image_id: str, variant: str | None = None) -> int:
        if variant is None:
            event = http_event(load_event("presign_get_image.json"), path=f"/api/images/{image_id}",
                               path_parameters={"id": image_id}, query={})
        else:
            event = http_event(load_event("presign_get_variant.json"), path=f"/api/images/{image_id}/{variant}",
                               path_parameters={"id": image_id, "variant": variant})
        return invoke("PresignFunction", event)["statusCode"]
    return get


def processed_keys(s3, config, image_id) -> set[str]:
    listing = s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix=image_prefix(image_id))
    return {item["Key"] for item in listing.get("Contents", [])}


def stored_manifest(s3, config, image_id) -> Manifest:
    body = s3.get_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id))["Body"].read()
    return Manifest.from_json(body)


def assert_deleted(s3, config, status, image_id):
    """Nothing of the image is left but its tombstone, and the API does not know it."""
    assert "Contents" not in s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=upload_key(image_id))
    assert processed_keys(s3, config, image_id) == {manifest_key(image_id)}
    assert stored_manifest(s3, config, image_id) == Manifest.deleted(image_id)
    assert status(image_id) == 404 and status(image_id, "thumb") == 404


def test_delete_removes_original_variants_and_manifest(invoke, load_event, http_event, upload, process, s3,
                                                       config, status):
    image_id = upload()
    other = upload()
    process(image_id)
    process(other)
    response = delete(invoke, load_event, http_event, image_id)
    assert response["statusCode"] == 204 and not response["body"]
    assert_deleted(s3, config, status, image_id)
    assert s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix=image_prefix(other))["KeyCount"] == 4
    assert delete(invoke, load_event, http_event, image_id)["statusCode"] == 404


def test_delete_of_a_pending_image_removes_the_original(invoke, load_event, http_event, upload, s3, config,
                                                        process, status):
    image_id = upload()
    assert delete(invoke, load_event, http_event, image_id)["statusCode"] == 204
    process(image_id)  # the upload's event, arriving late
    assert_deleted(s3, config, status, image_id)


def test_unknown_and_malformed_ids_are_404(invoke, load_event, http_event, s3, config):
    for image_id in (new_image_id(), "uploads", "../x"):
        response = delete(invoke, load_event, http_event, image_id)
        assert response["statusCode"] == 404
        assert response_json(response)["error"]["code"] == "not_found"
    assert s3.list_objects_v2(Bucket=config.processed_images_bucket)["KeyCount"] == 0  # no tombstone for nothing


# --------------------------------------------------------------------------- DELETE during processing

def test_delete_while_rendering_is_not_undone(invoke, load_event, http_event, upload, process, s3, config, status):
    """DELETE answers between processing's claim and its first variant: processing must publish nothing."""
    import processing

    image_id = upload()
    real_render = processing.render

    def render_then_delete(*args, **kwargs):
        result = real_render(*args, **kwargs)
        assert delete(invoke, load_event, http_event, image_id)["statusCode"] == 204
        return result

    with mock.patch("processing.render", side_effect=render_then_delete):
        process(image_id)
    assert_deleted(s3, config, status, image_id)


def test_delete_between_the_last_variant_and_the_outcome_is_not_undone(invoke, load_event, http_event, upload,
                                                                        process, s3, config, status):
    """The narrowest window: every variant is written, the outcome is about to be."""
    image_id = upload()
    client = s3_client()
    real_put = client.put_object

    def delete_before_the_outcome(**kwargs):
        if kwargs["Key"] == manifest_key(image_id) and "IfMatch" in kwargs:
            assert processed_keys(s3, config, image_id) >= {f"{image_prefix(image_id)}thumb.jpg"}
            assert delete(invoke, load_event, http_event, image_id)["statusCode"] == 204
        return real_put(**kwargs)

    with mock.patch.object(client, "put_object", side_effect=delete_before_the_outcome):
        process(image_id)
    assert_deleted(s3, config, status, image_id)


def test_delete_right_after_the_outcome_removes_everything(invoke, load_event, http_event, upload, process, s3,
                                                            config, status):
    image_id = upload()
    process(image_id)
    assert status(image_id) == 200
    assert delete(invoke, load_event, http_event, image_id)["statusCode"] == 204
    process(image_id)  # a duplicate delivery after the DELETE
    assert_deleted(s3, config, status, image_id)


# ------------------------------------------------------------------------- one original per upload ticket

def test_a_second_original_under_a_finished_image_is_removed_unprocessed(upload, process, s3, config, photo,
                                                                         status):
    image_id = upload(photo("JPEG", 640, 480))
    process(image_id)
    before = {key: s3.get_object(Bucket=config.processed_images_bucket, Key=key)["Body"].read()
              for key in processed_keys(s3, config, image_id)}
    # What a second POST with the same pre-signed ticket does: a new object under the same key.
    s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=photo("PNG", 300, 200))
    process(image_id)
    after = {key: s3.get_object(Bucket=config.processed_images_bucket, Key=key)["Body"].read()
             for key in processed_keys(s3, config, image_id)}
    assert after == before
    assert stored_manifest(s3, config, image_id).original.width == 640
    assert "Contents" not in s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=upload_key(image_id))
    assert status(image_id) == 200


def test_the_image_own_original_is_kept_on_a_repeated_event(upload, process, s3, config, photo):
    data = photo("JPEG", 640, 480)
    image_id = upload(data)
    process(image_id)
    process(image_id)
    stored = s3.get_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id))
    assert stored["Body"].read() == data
    assert stored_manifest(s3, config, image_id).source_etag == hashlib.md5(data).hexdigest()


def test_a_second_original_under_a_deleted_image_does_not_bring_it_back(invoke, load_event, http_event, upload,
                                                                        process, s3, config, photo, status):
    image_id = upload()
    process(image_id)
    assert delete(invoke, load_event, http_event, image_id)["statusCode"] == 204
    s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=photo("PNG", 300, 200))
    process(image_id)
    assert_deleted(s3, config, status, image_id)


def test_a_second_original_during_processing_is_not_mixed_in(upload, process, s3, config, photo, status):
    """The ticket is used again while the first original is being processed: the first is the image."""
    import processing

    image_id = upload(photo("JPEG", 640, 480))
    real_render = processing.render
    second = photo("PNG", 300, 200)

    def second_upload_meanwhile(*args, **kwargs):
        with acting_as(None):  # the client's POST, not a call of ProcessFunction's
            s3.put_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id), Body=second)
        with mock.patch("processing.render", side_effect=AssertionError("the second original was processed")):
            process(image_id)  # its event, while the first still holds the claim
        return real_render(*args, **kwargs)

    with mock.patch("processing.render", side_effect=second_upload_meanwhile):
        process(image_id)
    manifest = stored_manifest(s3, config, image_id)
    assert manifest.status == DONE and manifest.original.width == 640
    process(image_id)  # the second object's event, delivered again: now the image is finished
    assert "Contents" not in s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=upload_key(image_id))
    assert status(image_id) == 200 and stored_manifest(s3, config, image_id) == manifest


def test_a_key_the_batch_delete_keeps_is_an_error_not_a_204(invoke, load_event, http_event, upload, process, s3):
    image_id = upload()
    process(image_id)
    client = s3_client()
    kept = {"Errors": [{"Key": upload_key(image_id), "Code": "AccessDenied", "Message": "Access Denied"}]}
    with mock.patch.object(client, "delete_objects", return_value=kept):
        response = delete(invoke, load_event, http_event, image_id)
    assert response["statusCode"] == 500
    assert "AccessDenied" not in response["body"]  # no internals reach the client
