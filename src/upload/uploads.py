"""Taking originals in: direct uploads through the API and pre-signed POSTs straight to S3."""

from imageservice import progress
from imageservice.config import Config
from imageservice.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, quoted
from imageservice.keys import new_image_id, upload_key
from imageservice.options import ImageOptions
from imageservice.owners import record_owner
from imageservice.records import OriginalMetadata
from imageservice.sizes import format_bytes
from imageservice.sniff import ACCEPTED_CONTENT_TYPES, IMAGE_CONTENT_TYPES, sniff_image_type
from multipart import (
    MultipartError,
    MultipartSegment,
    ParserLimitReached,
    PushMultipartParser,
    parse_options_header,
)

ACCEPTED_TYPES_SENTENCE = "JPEG, PNG, WebP, GIF, AVIF, HEIC/HEIF, TIFF or BMP"
MULTIPART_OVERHEAD_BYTES = 64 * 1024

# Limits of a multipart body. A browser, curl or requests sends one part with two or three header lines of
# a few hundred bytes (a long file name, percent-encoded, stays under 1 KiB); a form may add a few fields.
# The header line bounds the parameters of Content-Disposition too: 4 KiB holds a few hundred at most.
MAX_PARTS = 16
MAX_PART_HEADERS = 8
MAX_PART_HEADER_BYTES = 4096
MAX_BOUNDARY_CHARS = 70  # RFC 2046
MALFORMED = "The multipart body is malformed; send the image in a part named 'file' (curl -F file=@photo.jpg)."


def extract_image(body: bytes, content_type: str, max_bytes: int) -> tuple[bytes, str | None]:
    """The image bytes of a direct upload, the raw body or the multipart part named `file`, and that part's
    file name (None for a raw body), which may only name downloads.

    `content_type` is the request's header as sent: the boundary's case matters."""
    media_type, parameters = parse_options_header(content_type)
    multipart = media_type == "multipart/form-data"
    # Checked before parsing too, so an oversized body costs no parsing; the margin is multipart framing.
    if len(body) > max_bytes + (MULTIPART_OVERHEAD_BYTES if multipart else 0):
        raise _too_large(len(body), max_bytes)
    file_name = None
    if multipart:
        body, file_name = _multipart_file(body, parameters.get("boundary", ""))
    if not body:
        raise BadRequest("The upload is empty; send the image bytes or a multipart part named 'file'.")
    if len(body) > max_bytes:
        raise _too_large(len(body), max_bytes)
    return body, file_name


def _too_large(size: int, max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"This upload is {format_bytes(size)}; POST /api/images takes at most {format_bytes(max_bytes)}. "
        "Use POST /api/uploads for larger images."
    )


def _multipart_file(body: bytes, boundary: str) -> tuple[bytes, str | None]:
    """The content of the one part named `file`, read by a streaming parser made for HTTP (strict mode: no
    header continuations, no unnamed parts, no data after the end), within the limits above. Other parts
    are skipped unread; nothing inside a part is ever parsed, so nesting costs nothing."""
    if not 1 <= len(boundary) <= MAX_BOUNDARY_CHARS:
        raise BadRequest(f"The multipart boundary must be 1 to {MAX_BOUNDARY_CHARS} characters; {MALFORMED}")
    chunks: list[bytes] | None = None
    file_name = None
    receiving = False
    try:
        with PushMultipartParser(boundary, content_length=len(body), max_header_size=MAX_PART_HEADER_BYTES,
                                 max_header_count=MAX_PART_HEADERS, max_segment_count=MAX_PARTS,
                                 strict=True) as parser:
            for event in parser.parse(body):
                if isinstance(event, MultipartSegment):
                    receiving = event.name == "file"
                    if receiving and chunks is not None:
                        raise BadRequest("The multipart body has more than one part named 'file'; send one image.")
                    if receiving:
                        chunks, file_name = [], event.filename
                elif event is None:
                    receiving = False
                elif receiving:
                    chunks.append(event)
    except ParserLimitReached:
        raise BadRequest(
            f"The multipart body exceeds a limit: at most {MAX_PARTS} parts, {MAX_PART_HEADERS} header lines "
            f"of {MAX_PART_HEADER_BYTES} bytes each; send the image in a part named 'file'."
        ) from None
    except (MultipartError, UnicodeError):
        raise BadRequest(MALFORMED) from None
    if chunks is None:
        raise BadRequest("The multipart body has no part named 'file'; send the image as file=@photo.jpg.")
    return b"".join(chunks), file_name


def store_direct_upload(
    s3, config: Config, image: bytes, options: ImageOptions, owner: str | None = None, file_name: object = None
) -> str:
    """Store a sniffed, accepted original and return its new image id; `owner` is the uploader's sub, and
    `file_name` only names downloads."""
    image_type = sniff_image_type(image)
    if image_type is None:
        raise UnsupportedMediaType(f"These bytes are not an image we accept; send {ACCEPTED_TYPES_SENTENCE}.")
    image_id = new_image_id()
    if owner is not None:
        record_owner(s3, config, owner, image_id)
    # Before the original: its event may finish processing at once, and `pending` must never land after that.
    progress.write_pending(s3, config, image_id)
    s3.put_object(
        Bucket=config.stored_images_bucket,
        Key=upload_key(image_id),
        Body=image,
        ContentType=IMAGE_CONTENT_TYPES[image_type],
        Metadata=OriginalMetadata.of_upload(options, owner, file_name).to_s3(),
    )
    return image_id


def presigned_upload(
    s3, config: Config, content_type: object, options: ImageOptions, owner: str | None = None,
    file_name: object = None,
) -> tuple[str, dict]:
    """A new image id and the pre-signed POST that may create its original, and nothing else; the policy
    pins every metadata field, the owner's sub and the file name included.

    `content_type` is the client's JSON value as sent: None, or a string naming an accepted image type."""
    if content_type is not None and (
        not isinstance(content_type, str) or content_type.lower() not in ACCEPTED_CONTENT_TYPES
    ):
        shown = quoted(content_type) if isinstance(content_type, str) else "that is not a string"
        raise UnsupportedMediaType(f"A content_type {shown} is not accepted; name one of "
                                   f"{ACCEPTED_TYPES_SENTENCE}, e.g. \"image/jpeg\".")
    image_id = new_image_id()
    if owner is not None:
        record_owner(s3, config, owner, image_id)
    progress.write_pending(s3, config, image_id)  # before the ticket exists, so before any original can
    stored = OriginalMetadata.of_upload(options, owner, file_name).to_s3()
    metadata = {f"x-amz-meta-{name}": value for name, value in stored.items()}
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

