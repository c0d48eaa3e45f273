"""GET /img/{id}/{width}.{format} when the processed-images bucket does not hold it yet: CloudFront fails over
to the render function, which renders the image from its original with processing's engine, budget and
limits, stores it under its derived key (where the bucket answers every later request) and returns it.

With sign-in on, the path names the owner (/img/{owner}/{id}/...: the signed cookie admits only the owner's
own paths) and an image is rendered only for the owner it names, so a cookie for /img/{mine}/* never reaches
another's image under /img/{mine}/{their id}/... (the bucket holds theirs under their own owner).

Only a done image is rendered, at a width of the Widths parameter and in one of the derived formats, so an
image has at most len(Widths) x len(DERIVED_FORMATS) derived objects. A DELETE (its tombstone) that comes
while an image renders wins: what was stored is removed again, as processing does with its variants."""

import dataclasses
from dataclasses import dataclass

import imaging
from botocore.exceptions import ClientError
from imageservice import records
from imageservice.config import Config
from imageservice.errors import AppError, InvalidOption, NotFound
from imageservice.keys import derived_key, parse_derived_key, upload_key
from imageservice.manifest import DONE, FAILED, PENDING
from imageservice.owners import owned_since_by_hash
from imageservice.records import OriginalMetadata
from imageservice.tracing import get_tracer
from imaging.resize import fit
from processing import limits_for, recipe_for

# In AuthMode none a derived image is public and never changes (its key names id, width and format; a DELETE
# invalidates it), so browsers and CloudFront keep it a year. Signed in, browsers keep it to themselves; the
# distribution's image cache policy caches it at the edge anyway, behind the signed-cookie check.
PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"
PRIVATE_CACHE_CONTROL = "private, max-age=31536000, immutable"

# A function URL answers at most 6 MB, and a binary body goes base64 encoded (4/3 larger), with headers besides.
MAX_INLINE_BYTES = 4_000_000


class NotReady(AppError):
    status = 409
    code = "not_ready"


class ImageFailed(AppError):
    status = 422

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class DerivedRequest:
    image_id: str
    width: int
    format: str  # one of keys.DERIVED_FORMATS
    owner: str | None = None  # the owner's hash the path names (sign-in on), None without sign-in

    @property
    def key(self) -> str:
        return derived_key(self.image_id, self.width, self.format, self.owner)


@dataclass(frozen=True)
class Rendered:
    key: str
    data: bytes
    content_type: str
    cache_control: str


def parse_derived_path(path: str, config: Config) -> DerivedRequest:
    """The request CloudFront passes on after its viewer-request function: /img/{id}/{width}.{format}."""
    parsed = parse_derived_key(path[1:]) if path.startswith("/") else None
    # Signed in, every path names its owner; without sign-in, none does (nobody owns anything).
    if parsed is None or (parsed.owner is not None) != config.sign_in.enabled:
        raise NotFound("There is no image at this address.")
    if parsed.width not in config.widths:
        raise InvalidOption(f"The width must be one of {', '.join(map(str, config.widths))} pixels.")
    return DerivedRequest(parsed.image_id, parsed.width, parsed.format, parsed.owner)


def cache_control(config: Config) -> str:
    return PRIVATE_CACHE_CONTROL if config.sign_in.enabled else PUBLIC_CACHE_CONTROL


def render_derived(s3, config: Config, request: DerivedRequest, deadline: float | None = None) -> Rendered:
    """Render, store and return one derived image; refused (an AppError) for an image that is not done, or (sign-in
    on) not the path's owner's: answered as an unknown one, as the API answers another's image."""
    if request.owner is not None and owned_since_by_hash(s3, config, request.owner, request.image_id) is None:
        raise NotFound("No image has this id.")
    manifest = _done_manifest(s3, config, request.image_id)
    try:
        original = s3.get_object(Bucket=config.stored_images_bucket, Key=upload_key(request.image_id))
    except ClientError as error:
        if records.is_missing(error):
            raise NotFound("This image's original is no longer kept.") from None
        raise
    shown = (manifest.original.width, manifest.original.height)
    recipe = dataclasses.replace(
        recipe_for(config, OriginalMetadata.from_s3(original.get("Metadata", {})).options),
        variants=(imaging.VariantSpec(f"w{request.width}", long_edge_for_width(shown, request.width)),),
        output_format=request.format,
    )
    try:
        # In a forked child under processing's limits (imaging.isolation), as processing decodes and encodes; one
        # span around it (its arguments are pickled to the worker, and a tracer is not).
        with get_tracer().span("build variants"):
            (variant,) = imaging.run_isolated(imaging.build_variants, original["Body"].read(), recipe, deadline,
                                              limits=limits_for(config, deadline), deadline=deadline).variants
    except imaging.ImageRejected as rejection:
        raise ImageFailed(rejection.code, rejection.message) from None
    rendered = Rendered(request.key, variant.data, variant.content_type, cache_control(config))
    s3.put_object(Bucket=config.processed_images_bucket, Key=rendered.key, Body=rendered.data,
                  ContentType=rendered.content_type, CacheControl=rendered.cache_control)
    # Stored before this check, so a DELETE either lists it (its tombstone came after) or is seen here.
    if _state(s3, config, request.image_id) != DONE:
        s3.delete_object(Bucket=config.processed_images_bucket, Key=rendered.key)
        raise NotFound("No image has this id.")
    return rendered


def long_edge_for_width(size: tuple[int, int], width: int) -> int:
    """The long edge that makes imaging's fit() give exactly this width (the image's own at most)."""
    if width >= size[0]:
        return max(size)
    if size[0] >= size[1]:
        return width
    estimate = round(width * size[1] / size[0])
    candidates = range(max(1, estimate - 2), estimate + 3)
    return min(candidates, key=lambda edge: (abs(fit(size, edge)[0] - width), abs(edge - estimate)))


def _done_manifest(s3, config: Config, image_id: str):
    stored = records.get(s3, config, image_id)
    manifest = stored.manifest if stored else None
    if manifest is None or manifest.status not in (DONE, FAILED, PENDING):
        raise NotFound("No image has this id.")
    if manifest.status == PENDING:
        raise NotReady("This image is still being processed; ask again once GET /api/images/{id} says done.")
    if manifest.status == FAILED:
        raise ImageFailed(manifest.error.code, manifest.error.message)
    return manifest


def _state(s3, config: Config, image_id: str) -> str | None:
    stored = records.get(s3, config, image_id)
    return stored.manifest.status if stored else None
