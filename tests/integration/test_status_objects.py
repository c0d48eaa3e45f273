"""Status objects over moto (imageservice.progress): what a waiting client polls at GET /status/{id}, written by
UploadFunction, ProcessFunction and DeleteFunction under their roles, at each change of state."""

import json

import pytest
from botocore.exceptions import ClientError
from imageservice import progress
from imageservice.keys import manifest_key, status_key
from imageservice.manifest import Manifest
from lambda_responses import response_json

from devstack.iam import acting_as


def read_status(s3, config, image_id) -> dict | None:
    """The status object as S3 holds it (body, ETag, headers), or None when there is none."""
    try:
        found = s3.get_object(Bucket=config.processed_images_bucket, Key=status_key(image_id))
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchKey":
            return None
        raise
    return {"body": json.loads(found["Body"].read()), "etag": found["ETag"], "cache_control": found.get("CacheControl"),
            "content_type": found["ContentType"]}


def delete(invoke, load_event, http_event, image_id):
    event = http_event(load_event("delete_image.json"), path=f"/api/images/{image_id}",
                       path_parameters={"id": image_id})
    return invoke("DeleteFunction", event)["statusCode"]


def test_a_direct_upload_is_pending_until_processing_says_done(upload, process, s3, config):
    image_id = upload()
    pending = read_status(s3, config, image_id)
    assert pending == {"body": {"status": "pending"}, "etag": pending["etag"], "cache_control": "max-age=1",
                       "content_type": "application/json"}
    process(image_id)
    done = read_status(s3, config, image_id)
    assert done["body"] == {"status": "done"} and done["etag"] != pending["etag"]
    assert done["cache_control"] == progress.CACHE_CONTROL


def test_an_upload_ticket_is_pending_before_any_original_exists(invoke, load_event, s3, config):
    response = invoke("UploadFunction", load_event("upload_post_uploads.json"))
    assert response["statusCode"] == 201
    image_id = response_json(response)["id"]
    assert read_status(s3, config, image_id)["body"] == {"status": "pending"}
    assert "Contents" not in s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=f"uploads/{image_id}")


def test_a_failure_says_failed_with_its_code_and_nothing_else(upload, process, s3, config):
    image_id = upload(b"\xff\xd8\xff" + b"\x00" * 400)  # a JPEG signature and nothing decodable after it
    process(image_id)
    manifest = Manifest.from_json(s3.get_object(Bucket=config.processed_images_bucket,
                                                Key=manifest_key(image_id))["Body"].read())
    assert manifest.status == "failed"
    assert read_status(s3, config, image_id)["body"] == {"status": "failed", "code": manifest.error.code}


def test_an_event_delivered_twice_writes_the_same_bytes_and_repairs_a_lost_status(upload, process, s3, config):
    image_id = upload()
    process(image_id)
    first = read_status(s3, config, image_id)
    process(image_id)
    assert read_status(s3, config, image_id) == first  # the same ETag: a client's If-None-Match still holds
    # A delivery that stopped between the manifest and the status object: the next delivery writes it.
    s3.put_object(Bucket=config.processed_images_bucket, Key=status_key(image_id), Body=b'{"status":"pending"}')
    process(image_id)
    assert read_status(s3, config, image_id) == first


def test_delete_removes_the_status_object(invoke, load_event, http_event, upload, process, s3, config):
    image_id = upload()
    process(image_id)
    assert delete(invoke, load_event, http_event, image_id) == 204
    assert read_status(s3, config, image_id) is None
    process(image_id)  # a late event for the deleted image brings nothing back
    assert read_status(s3, config, image_id) is None


def test_delete_of_an_unused_upload_ticket_removes_its_pending_status(invoke, load_event, http_event, s3, config):
    image_id = response_json(invoke("UploadFunction", load_event("upload_post_uploads.json")))["id"]
    assert delete(invoke, load_event, http_event, image_id) == 404  # no original: nothing of the image exists
    assert read_status(s3, config, image_id) is None


def test_an_outcome_published_after_a_delete_is_removed_by_its_writer(upload, process, s3, config):
    """The race progress.publish closes: DELETE wrote its tombstone and removed the status object between
    processing's manifest and its status write; the writer reads the tombstone back and removes what it wrote."""
    image_id = upload()
    process(image_id)
    done = Manifest.from_json(s3.get_object(Bucket=config.processed_images_bucket,
                                            Key=manifest_key(image_id))["Body"].read())
    s3.put_object(Bucket=config.processed_images_bucket, Key=manifest_key(image_id),
                  Body=Manifest.deleted(image_id).to_json())
    s3.delete_object(Bucket=config.processed_images_bucket, Key=status_key(image_id))
    with acting_as("ProcessFunction"):
        assert progress.publish(s3_as_function(), config, done) is False
    assert read_status(s3, config, image_id) is None


def s3_as_function():
    import boto3

    return boto3.client("s3", region_name="us-east-1")


@pytest.mark.parametrize("fields", [("deleted", None), ("failed", None), ("done", "x"), ("pending", "x")])
def test_only_the_three_states_and_a_failure_code_are_status_objects(fields):
    with pytest.raises(ValueError):
        progress.Status(*fields)
