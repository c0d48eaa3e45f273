"""AuthMode cognito/oidc over moto: each image is its uploader's; another's is answered like an unknown id;
GET /api/images lists the caller's own, newest first, a page per listing."""

import base64
import copy
import json
import time

import pytest
from imageservice.keys import newest_prefix, owner_prefix, upload_key
from lambda_responses import response_json

ALICE = "7a1c2e34-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
BOB = "google-oauth2|104729384756102938475"


def as_user(event: dict, subject: str | None) -> dict:
    """The event as API Gateway passes it after its JWT authorizer accepted `subject`'s token."""
    event = copy.deepcopy(event)
    event["requestContext"].pop("authorizer", None)
    if subject is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": subject}, "scopes": None}}
    return event


@pytest.fixture
def signed_in(function_env, s3):
    function_env({"AUTH_MODE": "cognito"})


@pytest.fixture
def call(invoke, load_event, http_event):
    """call(user, sample, **variation) -> (status, body): a variation of a sample event, as `user`."""
    functions = {"upload": "UploadFunction", "presign": "PresignFunction", "delete": "DeleteFunction"}

    def send(user, sample, **variation):
        event = as_user(http_event(load_event(sample), **variation), user)
        response = invoke(functions[sample.split("_", 1)[0]], event)
        return response["statusCode"], response_json(response)
    return send


@pytest.fixture
def upload_as(call, photo):
    def upload(user, **query):
        status, body = call(user, "upload_post_image.json", body=photo(), query=query)
        assert status == 202, body
        return body["id"]
    return upload


def status_of(call, user, image_id):
    return call(user, "presign_get_image.json", path=f"/api/images/{image_id}", path_parameters={"id": image_id},
                query={})


def list_images(call, user, **query):
    return call(user, "presign_list_images.json", query=query)


def test_a_direct_upload_records_its_owner(signed_in, upload_as, s3, config):
    image_id = upload_as(ALICE)
    original = s3.head_object(Bucket=config.stored_images_bucket, Key=upload_key(image_id))
    assert original["Metadata"]["owner"] == ALICE
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=config.stored_images_bucket,
                                                 Prefix=owner_prefix(ALICE))["Contents"]]
    assert len(keys) == 2 and all(image_id in key for key in keys)
    assert ALICE not in "".join(keys)  # keys hold a hash of the sub, never the sub


def test_the_presigned_post_pins_the_owner(signed_in, call):
    status, body = call(BOB, "upload_post_uploads.json")
    assert status == 201
    fields = body["upload"]["fields"]
    assert fields["x-amz-meta-owner"] == BOB
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"x-amz-meta-owner": BOB} in policy["conditions"]


def test_processing_ignores_the_owner_metadata(signed_in, upload_as, process, call):
    image_id = upload_as(ALICE, format="webp")
    process(image_id)
    status, body = status_of(call, ALICE, image_id)
    assert (status, body["status"]) == (200, "done")
    assert {variant["format"] for variant in body["variants"]} == {"webp"}


def test_another_users_image_is_answered_exactly_like_an_unknown_one(signed_in, upload_as, process, call):
    image_id = upload_as(ALICE)
    unknown = "0b4d6c1e-2f3a-4b5c-8d7e-9f0a1b2c3d4e"
    assert status_of(call, BOB, image_id) == status_of(call, BOB, unknown)
    assert status_of(call, BOB, image_id)[0] == 404
    process(image_id)
    assert status_of(call, BOB, image_id) == status_of(call, BOB, unknown)
    variant = call(BOB, "presign_get_variant.json", path=f"/api/images/{image_id}/thumb",
                   path_parameters={"id": image_id, "variant": "thumb"})
    assert variant == (404, status_of(call, BOB, unknown)[1])
    deleted = call(BOB, "delete_image.json", path=f"/api/images/{image_id}", path_parameters={"id": image_id})
    assert deleted == (404, status_of(call, BOB, unknown)[1])
    assert status_of(call, ALICE, image_id)[0] == 200


def test_the_owner_deletes_the_image_and_its_owner_entries(signed_in, upload_as, process, call, s3, config):
    image_id = upload_as(ALICE)
    process(image_id)
    status, _ = call(ALICE, "delete_image.json", path=f"/api/images/{image_id}", path_parameters={"id": image_id})
    assert status == 204
    assert s3.list_objects_v2(Bucket=config.stored_images_bucket, Prefix=owner_prefix(ALICE))["KeyCount"] == 0
    assert status_of(call, ALICE, image_id)[0] == 404
    assert list_images(call, ALICE) == (200, {"images": [], "next_cursor": None})


def test_the_list_is_the_callers_own_newest_first_in_pages(signed_in, upload_as, process, call, s3, config):
    mine = []
    for _ in range(5):
        mine.append(upload_as(ALICE))
        time.sleep(0.002)  # the index orders by millisecond; equal ones would be in id order
    upload_as(BOB)
    process(mine[0])
    seen, cursor, pages = [], None, 0
    while True:
        status, body = list_images(call, ALICE, limit="2", **({"cursor": cursor} if cursor else {}))
        assert status == 200, body
        seen += [item["image"]["id"] for item in body["images"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == mine[::-1] and pages == 3
    (oldest,) = [item for item in list_images(call, ALICE)[1]["images"] if item["image"]["id"] == mine[0]]
    assert oldest["image"]["status"] == "done" and oldest["image"]["variants"]
    created = [item["created_at"] for item in list_images(call, ALICE)[1]["images"]]
    assert created == sorted(created, reverse=True)


def test_a_page_is_one_bounded_listing_of_the_owners_prefix(signed_in, upload_as, call, s3, config, monkeypatch):
    for _ in range(3):
        upload_as(ALICE)
    listings = []
    original = type(s3).list_objects_v2

    def spy(self, **kwargs):
        listings.append(kwargs)
        return original(self, **kwargs)
    from imageservice.aws import s3_client
    monkeypatch.setattr(type(s3_client()), "list_objects_v2", spy)
    status, body = list_images(call, ALICE, limit="2")
    assert status == 200 and len(body["images"]) == 2
    index_listings = [k for k in listings if k["Prefix"].startswith("owners/")]
    assert index_listings == [{"Bucket": config.stored_images_bucket, "Prefix": newest_prefix(ALICE), "MaxKeys": 2}]


def test_an_unused_upload_ticket_is_left_out_of_the_list(signed_in, call):
    status, _ = call(ALICE, "upload_post_uploads.json")
    assert status == 201
    assert list_images(call, ALICE) == (200, {"images": [], "next_cursor": None})


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "51"}, {"limit": "x"}, {"limit": "\u00b2"},
                                   {"limit": "\uff11"}, {"limit": "1_0"}, {"cursor": "../other"},
                                   {"cursor": "9999999999999-not-an-id"}, {"page": "2"}])
def test_bad_list_parameters_are_invalid_options(signed_in, call, query):
    status, body = list_images(call, ALICE, **query)
    assert status == 400 and body["error"]["code"] == "invalid_option"


def test_with_auth_mode_none_the_list_is_absent_and_ids_stay_capabilities(upload, call, process):
    image_id = upload()
    assert list_images(call, None) == (404, {"error": {"code": "not_found",
                                                       "message": "There is nothing at this address."}})
    assert status_of(call, None, image_id)[0] == 202
    # Claims are ignored with AuthMode none (API Gateway sends none): the id alone is enough.
    assert status_of(call, BOB, image_id)[0] == 202


def test_a_protected_route_without_claims_is_refused_with_sign_in_on(signed_in, call):
    status, body = list_images(call, None)
    assert status == 401 and body["error"]["code"] == "unauthorized"
