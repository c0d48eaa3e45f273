"""Deployment settings: template Parameters reach the functions as environment variables and are
parsed here, once per cold start, into one validated, frozen object."""

import functools
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_VARIANT = re.compile(r"([a-z][a-z0-9_-]{0,31})=([1-9][0-9]{0,4})")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class VariantSize:
    name: str
    long_edge: int


@dataclass(frozen=True)
class Config:
    stored_images_bucket: str  # where originals land, under uploads/
    processed_images_bucket: str  # where variants and manifests are written, under images/
    direct_upload_max_bytes: int  # largest body POST /api/images accepts (it arrives base64 in Lambda)
    large_upload_max_bytes: int  # largest file the pre-signed POST of /api/uploads admits
    max_pixels: int  # images with more pixels fail with image_too_large before they are decoded
    variants: tuple[VariantSize, ...]  # the variants every image gets, largest first
    default_quality: int  # JPEG/WebP/AVIF quality when an upload does not ask for one
    url_expires_seconds: int  # lifetime of every pre-signed URL the API hands out
    variants_expire_days: int  # days until a processed image (variants, manifest) is deleted; 0: until deleted
    processing_timeout_seconds: int  # an original older than this without a manifest reads as failed
    sign_in: "SignIn"  # who may call the API: nobody signs in (mode none), or users of one OIDC issuer
    # GET /img/{id}/{width}.{format} renders these widths only (ascending); any other is refused (400).
    widths: tuple[int, ...] = (160, 320, 640, 960, 1280, 1920, 2560)
    # The distribution serving the site; set only for InvalidateFunction, the one function that talks to it.
    distribution_id: str = ""
    # Sign-in on: the CloudFront public key's id and the secret holding its private key, with which SessionFunction
    # signs the cookies of /img/{owner}/* (src/edgeauth); set only for SessionFunction.
    edge_key_pair_id: str = ""
    edge_signing_key: str = ""
    # What CloudFront sends the API in X-Origin-Verify (the ApiOriginSecret, resolved at deploy); set only for the
    # API functions, which refuse every request without it (imageservice.http).
    origin_secret: str = field(default="", repr=False)
    threads: int = 1  # cores ProcessFunction decodes and encodes one image on (processing_threads)
    memory_mb: int | None = None  # the function's memory (Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE); None elsewhere

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "Config":
        return cls(
            stored_images_bucket=_require(environ, "STORED_IMAGES_BUCKET"),
            processed_images_bucket=_require(environ, "PROCESSED_IMAGES_BUCKET"),
            direct_upload_max_bytes=_integer(environ, "DIRECT_UPLOAD_MAX_BYTES", 1, 6 * 1024 * 1024),
            large_upload_max_bytes=_integer(environ, "LARGE_UPLOAD_MAX_BYTES", 1, 5 * 1024**3),
            max_pixels=_integer(environ, "MAX_PIXELS", 1, 1_000_000_000),
            variants=parse_variants(_require(environ, "VARIANTS")),
            default_quality=_integer(environ, "DEFAULT_QUALITY", 1, 100),
            url_expires_seconds=_integer(environ, "URL_EXPIRES_SECONDS", 1, 7 * 24 * 3600),
            variants_expire_days=_integer(environ, "VARIANTS_EXPIRE_DAYS", 0, 100 * 365),
            processing_timeout_seconds=_integer(environ, "PROCESSING_TIMEOUT_SECONDS", 1, 24 * 3600),
            sign_in=SignIn.from_environ(environ),
            widths=parse_widths(_require(environ, "IMAGE_WIDTHS")),
            distribution_id=environ.get("DISTRIBUTION_ID", "").strip(),
            edge_key_pair_id=environ.get("EDGE_KEY_PAIR_ID", "").strip(),
            edge_signing_key=environ.get("EDGE_SIGNING_KEY", "").strip(),
            origin_secret=environ.get("ORIGIN_SECRET", "").strip(),
            threads=processing_threads(environ),
            memory_mb=function_memory_mb(environ),
        )


AUTH_MODES = ("none", "cognito", "oidc")


@dataclass(frozen=True)
class SignIn:
    mode: str = "none"  # none, cognito or oidc (the AuthMode parameter)
    issuer: str = ""  # the tokens' iss; the API Gateway authorizer accepts only this issuer's tokens
    client_id: str = ""  # the page's public client at the issuer (the authorizer's audience)
    hosted_url: str = ""  # Cognito's hosted sign-in domain (cognito mode); oidc pages use the issuer's discovery

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "SignIn":
        mode = environ.get("AUTH_MODE", "none").strip() or "none"
        if mode not in AUTH_MODES:
            raise ConfigError(f"AUTH_MODE must be one of {', '.join(AUTH_MODES)}, not {mode!r}")
        return cls(
            mode=mode,
            issuer=environ.get("AUTH_ISSUER", "").strip(),
            client_id=environ.get("AUTH_CLIENT_ID", "").strip(),
            hosted_url=environ.get("AUTH_SIGN_IN_URL", "").strip().rstrip("/"),
        )


@functools.cache
def get_config() -> Config:
    """The configuration of this process, read once."""
    return Config.from_environ(os.environ)


# Lambda gives a function CPU time in proportion to its memory: one vCPU's worth at 1769 MB, more above.
_MB_PER_VCPU = 1769


def processing_threads(environ: Mapping[str, str]) -> int:
    """The threads worth using per image: the CPUs this process may run on, no more than its memory pays for.

    Lambda sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE (the template's ProcessMemorySize) and shows every function
    at least two CPUs; a second thread pays once the share is above one vCPU. Elsewhere the CPUs decide.
    """
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if memory.isdigit() and int(memory) > 0:
        usable = min(usable, math.ceil(int(memory) / _MB_PER_VCPU))
    return max(1, usable)


def function_memory_mb(environ: Mapping[str, str]) -> int | None:
    """The memory Lambda gives this function, in MB, or None outside Lambda (and its local stack)."""
    memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "").strip()
    return int(memory) if memory.isdigit() and int(memory) > 0 else None


def parse_variants(value: str) -> tuple[VariantSize, ...]:
    """`large=2048,medium=1024,thumb=256` as sizes, largest first."""
    sizes = []
    for item in value.split(","):
        match = _VARIANT.fullmatch(item.strip())
        if not match:
            raise ConfigError(f"VARIANTS entry {item!r} is not name=pixels (e.g. thumb=256)")
        sizes.append(VariantSize(match[1], int(match[2])))
    names = [size.name for size in sizes]
    if len(set(names)) != len(names):
        raise ConfigError(f"VARIANTS names must be unique: {value!r}")
    return tuple(sorted(sizes, key=lambda size: -size.long_edge))


MAX_WIDTHS = 16
MAX_WIDTH = 16384


def parse_widths(value: str) -> tuple[int, ...]:
    """`160,320,640` as whole pixels, ascending; at most MAX_WIDTHS of them, each from 1 to MAX_WIDTH."""
    items = [item.strip() for item in value.split(",")]
    if not all(item.isascii() and item.isdigit() and 1 <= int(item) <= MAX_WIDTH for item in items):
        raise ConfigError(f"IMAGE_WIDTHS must be whole pixels from 1 to {MAX_WIDTH}, comma separated: {value!r}")
    widths = sorted({int(item) for item in items})
    if len(widths) != len(items) or len(widths) > MAX_WIDTHS:
        raise ConfigError(f"IMAGE_WIDTHS must be at most {MAX_WIDTHS} different widths: {value!r}")
    return tuple(widths)


def _require(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} must be set")
    return value


def _integer(environ: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = _require(environ, name)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value
