"""The sync client's urllib3 transport under the httpx API, against a raw socket server that can
misbehave on purpose: large reads, request bodies framed right, keep-alive, and transport errors that
become httpx's (so a body cut short is a NetworkError and a download resumes)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from vitalgraph.client._aiohttp_transport import _widen_socket_reads
from vitalgraph.client._requests import network_errors
from vitalgraph.client._transports import Urllib3Transport, default_sync_transport
from vitalgraph.client.config import ClientConfig
from vitalgraph.client.errors import NetworkError

KiB = 1024
Handler = Callable[[socket.socket, "Exchange"], None]


class Exchange:
    """What the server saw: each request's head and body, and how many connections it accepted."""

    def __init__(self) -> None:
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0


def read_request(conn: socket.socket, exchange: Exchange) -> bytes:
    """One request's head; its body (Content-Length or chunked) is stored with it."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(64 * KiB)
        if not piece:
            raise ConnectionError("closed before a request")
        data += piece
    head, rest = data.split(b"\r\n\r\n", 1)
    lower = head.lower()
    if b"content-length:" in lower:
        length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += conn.recv(64 * KiB)
    elif b"transfer-encoding: chunked" in lower:
        while not rest.endswith(b"0\r\n\r\n"):
            rest += conn.recv(64 * KiB)
    exchange.requests.append((head, rest))
    return head


def reply(conn: socket.socket, body: bytes, *, length: int | None = None) -> None:
    length = len(body) if length is None else length
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Test: yes\r\n\r\n" % length + body)


@contextlib.contextmanager
def raw_server(handler: Handler) -> Iterator[tuple[str, Exchange]]:
    listener = socket.create_server(("127.0.0.1", 0))
    exchange = Exchange()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            exchange.connections += 1
            with conn, contextlib.suppress(OSError, ConnectionError):
                handler(conn, exchange)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", exchange
    finally:
        listener.close()


def client(chunk_size: int = 256 * KiB, timeout: float = 10.0) -> httpx.Client:
    config = ClientConfig(chunk_size=chunk_size)
    return httpx.Client(transport=Urllib3Transport(config), timeout=timeout)


def test_the_default_sync_transport_is_urllib3_unless_httpx_is_asked_for() -> None:
    assert isinstance(default_sync_transport(ClientConfig()), Urllib3Transport)
    assert isinstance(default_sync_transport(ClientConfig(http_backend="httpx")), httpx.HTTPTransport)


def test_a_body_arrives_whole_in_pieces_of_up_to_chunk_size() -> None:
    body = os.urandom(3 * 1024 * KiB + 5)

    def handler(conn: socket.socket, exchange: Exchange) -> None:
        read_request(conn, exchange)
        reply(conn, body)

    with raw_server(handler) as (url, _), client(chunk_size=256 * KiB) as http:
        with http.stream("GET", url + "/file") as response:
            pieces = list(response.iter_raw())
        assert response.status_code == 200
        assert response.headers["x-test"] == "yes"
    assert b"".join(pieces) == body
    assert max(map(len, pieces)) == 256 * KiB
    assert len(pieces) == 13  # 12 full pieces and the last 5 bytes: not httpcore's 64 KiB reads


def test_a_body_cut_short_is_a_read_error_and_so_a_network_error() -> None:
    def handler(conn: socket.socket, exchange: Exchange) -> None:
        read_request(conn, exchange)
        reply(conn, b"x" * 100 * KiB, length=1024 * KiB)  # promises 1 MiB, then the connection closes

    with raw_server(handler) as (url, _), client() as http:
        received = 0
        with pytest.raises(httpx.ReadError), http.stream("GET", url) as response:
            for piece in response.iter_raw():
                received += len(piece)
        assert received == 100 * KiB
        with pytest.raises(NetworkError), network_errors(), http.stream("GET", url) as response:
            response.read()


def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    with client() as http, pytest.raises(httpx.ConnectError):
        http.get(f"http://127.0.0.1:{port}/")


def test_a_stalled_reply_is_a_read_timeout() -> None:
    def handler(conn: socket.socket, exchange: Exchange) -> None:
        read_request(conn, exchange)
        threading.Event().wait(2)

    with raw_server(handler) as (url, _), client(timeout=0.3) as http, pytest.raises(httpx.ReadTimeout):
        http.get(url)


def test_upload_bodies_are_sent_as_is_with_a_length_and_chunked_without() -> None:
    def handler(conn: socket.socket, exchange: Exchange) -> None:
        while True:
            read_request(conn, exchange)
            reply(conn, b"ok")

    pieces = [os.urandom(300 * KiB), os.urandom(7)]
    with raw_server(handler) as (url, exchange), client() as http:
        sized = http.post(url, content=iter(pieces), headers={"Content-Length": str(300 * KiB + 7)})
        unsized = http.post(url, content=iter(pieces))
        small = http.post(url, content=b"abc")
        empty = http.get(url)
    assert [r.text for r in (sized, unsized, small, empty)] == ["ok"] * 4
    (sized_head, sized_body), (unsized_head, unsized_body), (_, small_body), (empty_head, empty_body) = (
        exchange.requests
    )
    assert sized_body == b"".join(pieces) and b"chunked" not in sized_head.lower()
    assert b"transfer-encoding: chunked" in unsized_head.lower()
    assert unsized_body.endswith(b"0\r\n\r\n") and pieces[0] in unsized_body
    assert small_body == b"abc"
    assert empty_body == b"" and b"transfer-encoding" not in empty_head.lower()
    assert exchange.connections == 1  # one kept-alive connection for all four


def test_a_reply_left_unread_does_not_poison_the_next_request() -> None:
    body = os.urandom(2 * 1024 * KiB)

    def handler(conn: socket.socket, exchange: Exchange) -> None:
        while True:
            read_request(conn, exchange)
            reply(conn, body)

    with raw_server(handler) as (url, exchange), client() as http:
        with http.stream("GET", url) as response:
            next(response.iter_raw())  # read a little, then give up
        assert http.get(url).content == body
    assert exchange.connections == 2  # the half-read connection was closed, not reused


def test_widening_socket_reads_leaves_transports_without_a_read_size_alone() -> None:
    class SelectorLike:
        max_size = 256 * KiB

    transport = SelectorLike()
    _widen_socket_reads(transport, 1024 * KiB)
    assert transport.max_size == 1024 * KiB and SelectorLike.max_size == 256 * KiB
    _widen_socket_reads(transport, 64 * KiB)  # never narrower
    assert transport.max_size == 1024 * KiB
    _widen_socket_reads(object(), 1024 * KiB)  # e.g. uvloop's transports: nothing to change
    _widen_socket_reads(None, 1024 * KiB)


def test_a_chunked_reply_left_unread_closes_its_connection_too() -> None:
    def handler(conn: socket.socket, exchange: Exchange) -> None:
        while True:
            read_request(conn, exchange)
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(8):
                conn.sendall(b"%x\r\n%s\r\n" % (256 * KiB, b"y" * 256 * KiB))
            conn.sendall(b"0\r\n\r\n")

    with raw_server(handler) as (url, exchange), client() as http:
        with http.stream("GET", url) as response:
            next(response.iter_raw())
        assert http.get(url).content == b"y" * 2048 * KiB
        assert http.get(url).content == b"y" * 2048 * KiB
    assert exchange.connections == 2  # the half-read one closed; the whole ones kept alive
