"""The local API's front door behaves as API Gateway's (devstack/apigw/gateway.py): its own 404, 400 for broken
framing, and no connection held open for ever."""

import socket
import threading
import time

import pytest

from devstack.apigw.gateway import Gateway, Router
from devstack.cfn.template import Function, HttpRoute

SOCKET_TIMEOUT = 1.0


class EchoPool:
    """Stands in for a function's environments: answers with the body it got."""

    def invoke(self, event: dict) -> dict:
        return {"statusCode": 200, "body": event.get("body", ""), "isBase64Encoded": event["isBase64Encoded"]}


@pytest.fixture(scope="module")
def gateway():
    function = Function("EchoFunction", None, (), "app.handler", 3, 128, {}, (HttpRoute("POST", "/api/echo"),), ())
    server = Gateway("127.0.0.1", 0, socket_timeout=SOCKET_TIMEOUT)
    server.attach(Router({"EchoFunction": function}), {"EchoFunction": EchoPool()}, None, lambda *a: None,
                  lambda text: None)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _exchange(gateway, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):  # until the server closes the connection
            answer += chunk
        return answer


def _post(body_framing: bytes) -> bytes:
    return b"POST /api/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + body_framing


def test_chunked_body_is_read(gateway):
    answer = _exchange(gateway, _post(b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\nhello")


@pytest.mark.parametrize(
    "framing",
    [
        b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        b"Content-Length: -1\r\n\r\n",
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ],
    ids=["negative-chunk", "bad-chunk", "two-lengths", "repeated-length", "negative-length", "length-and-chunked"],
)
def test_broken_framing_is_a_400(gateway, framing):
    answer = _exchange(gateway, _post(framing))
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert answer.endswith(b'{"message":"Bad Request"}')


def test_unknown_route_gets_api_gateways_own_404(gateway):
    answer = _exchange(gateway, b"GET /api/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404") and answer.endswith(b'{"message":"Not Found"}')


def test_silent_connections_are_closed(gateway):
    connections = [socket.create_connection(("127.0.0.1", gateway.port), timeout=10) for _ in range(50)]
    for connection in connections[::2]:
        connection.sendall(b"POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhal")  # stalls
    started = time.monotonic()
    for connection in connections:
        assert connection.recv(65536) == b"", "closed without an answer"
        connection.close()
    assert time.monotonic() - started < SOCKET_TIMEOUT + 8, "every silent connection was closed by the server"
    assert _exchange(gateway, b"GET /api/nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
