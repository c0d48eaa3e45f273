"""Taking originals in: direct uploads through the API and pre-signed POSTs straight to S3."""

from email.parser import BytesParser
from email.policy import HTTP

from imageservice.config import Config
from imageservice.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from imageservice.keys import new_image_id, upload_key
from imageservice.options import ImageOptions
from imageservice.owners import OWNER_METADATA, record_owner
from imageservice.sniff import ACCEPTED_CONTENT_TYPES, IMAGE_CONTENT_TYPES, sniff_image_type

ACCEPTED_TYPES_SENTENCE = "JPEG, PNG, WebP, GIF, AVIF, HEIC/HEIF, TIFF or BMP"
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def extract_image(body: bytes, content_type: str, max_bytes: int) -> bytes:
    """The image bytes of a direct upload: the raw body, or the multipart part named `file`."""
    multipart = content_type.startswith("multipart/form-data")
    # Checked before parsing too, so an oversized body costs no parsing; the margin is multipart framing.
    if len(body) > max_bytes + (MULTIPART_OVERHEAD_BYTES if multipart else 0):
        raise _too_large(len(body), max_bytes)
    if multipart:
        body = _multipart_file(body, content_type)
    if not body:
        raise BadRequest("The upload is empty; send the image bytes or a multipart part named 'file'.")
    if len(body) > max_bytes:
        raise _too_large(len(body), max_bytes)
    return body


def _too_large(size: int, max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"This upload is {size} bytes; POST /api/images takes at most {max_bytes}. "
        "Use POST /api/uploads for larger images."
    )


def _multipart_file(body: bytes, content_type: str) -> bytes:
    headers = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(headers + body)
    if not message.is_multipart() or message.defects:
        raise BadRequest("The multipart body is malformed; send the image in a part named 'file'.")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_payload(decode=True) or b""
    raise BadRequest("The multipart body has no part named 'file'; send the image as file=@photo.jpg.")


def store_direct_upload(s3, config: Config, image: bytes, options: ImageOptions, owner: str | None = None) -> str:
    """Store a sniffed, accepted original and return its new image id; `owner` is the uploader's sub."""
    image_type = sniff_image_type(image)
    if image_type is None:
        raise UnsupportedMediaType(f"These bytes are not an image we accept; send {ACCEPTED_TYPES_SENTENCE}.")
    image_id = new_image_id()
    if owner is not None:
        record_owner(s3, config, owner, image_id)
    s3.put_object(
        Bucket=config.stored_images_bucket,
        Key=upload_key(image_id),
        Body=image,
        ContentType=IMAGE_CONTENT_TYPES[image_type],
        Metadata=_metadata(options, owner),
    )
    return image_id


def presigned_upload(
    s3, config: Config, content_type: object, options: ImageOptions, owner: str | None = None
) -> tuple[str, dict]:
    """A new image id and the pre-signed POST that may create its original, and nothing else; the policy
    pins every metadata field, the owner's sub included.

    `content_type` is the client's JSON value as sent: None, or a string naming an accepted image type."""
    if content_type is not None and (
        not isinstance(content_type, str) or content_type.lower() not in ACCEPTED_CONTENT_TYPES
    ):
        raise UnsupportedMediaType(f"content_type {content_type!r} is not accepted; send {ACCEPTED_TYPES_SENTENCE}.")
    image_id = new_image_id()
    if owner is not None:
        record_owner(s3, config, owner, image_id)
    metadata = {f"x-amz-meta-{name}": value for name, value in _metadata(options, owner).items()}
    fields = dict(metadata)
    conditions: list = [["content-length-range", 1, config.large_upload_max_bytes]]
    conditions += [{name: value} for name, value in metadata.items()]
    if content_type is None:
        conditions.append(["starts-with", "$Content-Type", "image/"])
    else:
        fields["Content-Type"] = content_type.lower()
        conditions.append({"Content-Type": content_type.lower()})
    post = s3.generate_presigned_post(
        Bucket=config.stored_images_bucket,
        Key=upload_key(image_id),
        Fields=fields,
        Conditions=conditions,
        ExpiresIn=config.url_expires_seconds,
    )
    return image_id, post


def _metadata(options: ImageOptions, owner: str | None) -> dict[str, str]:
    """The original's S3 metadata: the processing options, and who uploaded it."""
    return {**options.to_strings(), **({OWNER_METADATA: owner} if owner is not None else {})}
