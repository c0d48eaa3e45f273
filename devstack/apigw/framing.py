"""HTTP/1.1 request bodies as API Gateway frames them: one Content-Length or chunked (never both), a size cap,
and a client that stops short of its Content-Length."""

import re
from email.message import Message
from typing import BinaryIO


class BadRequest(Exception):
    """Framing API Gateway refuses with 400: a bad chunk size, a Content-Length that is not one number."""


class TooLarge(Exception):
    pass


class Truncated(Exception):
    pass


def declared_length(headers: Message) -> int:
    """The Content-Length (0 without one); BadRequest unless it is one number."""
    lengths = headers.get_all("Content-Length") or []
    if not lengths:
        return 0
    if len(lengths) > 1 or not lengths[0].strip().isdigit():
        raise BadRequest
    return int(lengths[0])


def read_body(headers: Message, rfile: BinaryIO, limit: int) -> bytes:
    """The body, chunked or of its Content-Length; TooLarge over `limit`, Truncated when the client stops short."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        if "Content-Length" in headers:
            raise BadRequest  # both framings at once: how requests are smuggled
        chunks, total = [], 0
        while True:
            size_field = rfile.readline().split(b";")[0].strip()
            if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_field):
                raise BadRequest
            size = int(size_field, 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > limit:
                raise TooLarge
            chunks.append(rfile.read(size))
            rfile.readline()
    length = declared_length(headers)
    if length > limit:
        raise TooLarge
    body = rfile.read(length) if length > 0 else b""
    if len(body) < length:
        raise Truncated
    return body


def expecting_continue(headers: Message) -> bool:
    return (headers.get("Expect") or "").lower() == "100-continue"


def discard_body(headers: Message, rfile: BinaryIO, limit: int) -> bool:
    """Read and drop a body the answer does not need; False when it is not worth reading (the connection goes)."""
    length = declared_length(headers)
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower() or length > limit:
        return False
    if length:
        rfile.read(length)
    return True


def drain(rfile: BinaryIO, length: int) -> None:
    """Read and drop up to `length` bytes, as far as the client sends them."""
    try:
        while length > 0:
            chunk = rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            length -= len(chunk)
    except OSError:
        pass
