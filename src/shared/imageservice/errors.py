"""Errors a client can act on, each with an HTTP status and a stable code."""


class AppError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class InvalidOption(AppError):
    status = 400
    code = "invalid_option"


class Forbidden(AppError):
    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


QUOTED_INPUT_CHARS = 32


def quoted(value: str, limit: int = QUOTED_INPUT_CHARS) -> str:
    """A client's text as an error message may show it: a short prefix, quoted, with anything unprintable
    (control characters, bidirectional overrides, lone surrogates) escaped, so a message never carries
    more than a few dozen characters of what was sent."""
    return repr(value[:limit]) + ("…" if len(value) > limit else "")
