"""DELETE /api/images/{id} over moto."""

from imageservice.keys import image_prefix, new_image_id, upload_key
from lambda_responses import response_json


def delete(invoke, load_event, http_event, image_id):
    event = http_event(load_event("delete_image.json"), path=f"/api/images/{image_id}",
                       path_parameters={"id": image_id})
    return invoke("DeleteFunction", event)


def test_delete_removes_original_variants_and_manifest(invoke, load_event, http_event, upload, process, s3,
                                                       config):
    image_id = upload()
    other = upload()
    process(image_id)
    process(other)
    response = delete(invoke, load_event, http_event, image_id)
    assert response["statusCode"] == 204 and not response["body"]
    assert "Contents" not in s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=upload_key(image_id))
    assert "Contents" not in s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix=image_prefix(image_id))
    assert s3.list_objects_v2(Bucket=config.processed_images_bucket, Prefix=image_prefix(other))["KeyCount"] == 4
    assert delete(invoke, load_event, http_event, image_id)["statusCode"] == 404


def test_delete_of_a_pending_image_removes_the_original(invoke, load_event, http_event, upload, s3, config):
    image_id = upload()
    assert delete(invoke, load_event, http_event, image_id)["statusCode"] == 204
    assert "Contents" not in s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=upload_key(image_id))


def test_unknown_and_malformed_ids_are_404(invoke, load_event, http_event):
    for image_id in (new_image_id(), "uploads", "../x"):
        response = delete(invoke, load_event, http_event, image_id)
        assert response["statusCode"] == 404
        assert response_json(response)["error"]["code"] == "not_found"
