"""Reasons an upload is refused, each with a stable code and a message a person can act on."""


class ImageRejected(Exception):
    """An image this service will not process."""

    code = "image_rejected"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ImageTooLarge(ImageRejected):
    """Too many pixels or frames to decode safely."""

    code = "image_too_large"


class CorruptImage(ImageRejected):
    """Truncated or damaged image data."""

    code = "corrupt_image"


class UnsupportedImage(ImageRejected):
    """Not one of the formats this service decodes."""

    code = "unsupported_image"


class ImageTooComplex(ImageRejected):
    """Within every size limit, but more work than can finish in the time processing has."""

    code = "image_too_complex"


class ProcessingTimeout(ImageRejected):
    """Processing reached its deadline before the variants were done."""

    code = "processing_timeout"
