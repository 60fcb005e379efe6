"""Connection limits of `vitalgraph serve` (issue 12, findings 8 and 9), on real servers and raw sockets.

* 200 connections that send half a request line are answered 408 and closed after
  HEADER_TIMEOUT_SECONDS (they used to stay open for minutes), while others are served meanwhile;
  so is a connection that sends nothing, and half a second request on a kept-alive connection.
* A connection idle after a response is closed after KEEPALIVE_TIMEOUT_SECONDS.
* One client over MAX_CONNECTIONS_PER_CLIENT is answered 503 naming the limit while another client
  (another loopback address) is served; closing a connection frees its place. Over MAX_CONNECTIONS
  every new client is refused.
* X-Forwarded-For is believed only from TRUSTED_PROXIES: by default a client rotating the header
  is still throttled on its real address.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fixtures.servers import ADMIN_PASSWORD, RunningServer

HEADER_TIMEOUT = 1.0
HEALTH = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"


def address(server: RunningServer) -> tuple[str, int]:
    url = urlsplit(server.url)
    return url.hostname, url.port  # type: ignore[return-value]


def connect(server: RunningServer, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(address(server), timeout=10, source_address=(source, 0))
    return sock


def read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection; AssertionError past the deadline."""
    received = b""
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"still open at the deadline; got {received[:200]!r}") from None
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk


def get_health(server: RunningServer, source: str = "127.0.0.1") -> bytes:
    with contextlib.closing(connect(server, source)) as sock:
        sock.sendall(HEALTH.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        return read_until_closed(sock, time.monotonic() + 10)


@pytest.fixture(scope="module")
def slow_clients_server(server_factory) -> RunningServer:
    return server_factory(
        {
            "VITALGRAPH_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
            "VITALGRAPH_KEEPALIVE_TIMEOUT_SECONDS": "1",
            "VITALGRAPH_MAX_CONNECTIONS_PER_CLIENT": "300",
            "VITALGRAPH_TRANSFER_IDLE_TIMEOUT_SECONDS": "1",
        },
        name="slow-clients",
    )


@contextlib.contextmanager
def open_sockets(
    server: RunningServer, count: int, first_bytes: bytes, source: str = "127.0.0.1"
) -> Iterator[list]:
    sockets = []
    try:
        for _ in range(count):
            sock = connect(server, source)
            if first_bytes:
                sock.sendall(first_bytes)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def test_200_half_request_lines_are_closed_after_the_header_timeout(slow_clients_server) -> None:
    server = slow_clients_server
    started = time.monotonic()
    with open_sockets(server, 200, b"GET /api/spaces HT") as sockets:
        assert get_health(server).startswith(b"HTTP/1.1 200")  # others are served meanwhile
        deadline = started + HEADER_TIMEOUT + 5  # generous: the machine is shared and slow
        answers = [read_until_closed(sock, deadline) for sock in sockets]
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), {a[:40] for a in answers}
    assert b"HEADER_TIMEOUT_SECONDS" in answers[0]
    assert time.monotonic() - started >= HEADER_TIMEOUT * 0.9  # not before the timeout either


def test_a_silent_connection_and_half_a_second_request_are_closed_too(slow_clients_server) -> None:
    server = slow_clients_server
    with contextlib.closing(connect(server)) as silent:
        assert read_until_closed(silent, time.monotonic() + HEADER_TIMEOUT + 5).startswith(b"HTTP/1.1 408")
    with contextlib.closing(connect(server)) as kept:
        kept.sendall(HEALTH)
        time.sleep(0.3)
        kept.sendall(b"GET /hea")  # the second request never finishes its line
        answer = read_until_closed(kept, time.monotonic() + HEADER_TIMEOUT + 5)
    assert answer.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" in answer, answer


@pytest.mark.parametrize(
    "path, content_type",
    [
        ("/api/login", "application/x-www-form-urlencoded"),  # a form FastAPI read, unbounded
        ("/api/refresh", "application/json"),
    ],
)
def test_a_body_that_stops_coming_is_answered_408(slow_clients_server, path: str, content_type: str) -> None:
    """Headers complete, the body promised and never sent: the body idle timeout ends it."""
    with contextlib.closing(connect(slow_clients_server)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
            "Content-Length: 100\r\n\r\nusername=a".encode()
        )
        answer = read_until_closed(sock, time.monotonic() + 8)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"TRANSFER_IDLE_TIMEOUT_SECONDS" in answer


def test_an_idle_kept_alive_connection_is_closed_after_the_keepalive_timeout(slow_clients_server) -> None:
    with contextlib.closing(connect(slow_clients_server)) as kept:
        kept.sendall(HEALTH)
        started = time.monotonic()
        answer = read_until_closed(kept, started + 6)
    assert answer.startswith(b"HTTP/1.1 200") and b"HTTP/1.1 408" not in answer
    assert 0.5 <= time.monotonic() - started <= 6


@pytest.fixture(scope="module")
def capped_server(server_factory) -> RunningServer:
    return server_factory(
        {
            "VITALGRAPH_HEADER_TIMEOUT_SECONDS": "60",
            "VITALGRAPH_MAX_CONNECTIONS_PER_CLIENT": "5",
            "VITALGRAPH_MAX_CONNECTIONS": "8",
        },
        name="capped",
    )


def wait_for(condition, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_one_client_over_its_cap_is_refused_while_another_is_served(capped_server) -> None:
    server = capped_server
    wait_for(lambda: get_health(server).startswith(b"HTTP/1.1 200"))  # earlier connections gone
    with open_sockets(server, 5, b"") as held:
        refused = get_health(server)
        assert refused.startswith(b"HTTP/1.1 503"), refused
        assert b"MAX_CONNECTIONS_PER_CLIENT=5" in refused and b"127.0.0.1" in refused
        assert get_health(server, source="127.0.0.2").startswith(b"HTTP/1.1 200")
        held.pop().close()  # one place is free again
        wait_for(lambda: get_health(server).startswith(b"HTTP/1.1 200"))
    wait_for(lambda: get_health(server).startswith(b"HTTP/1.1 200"))


def test_over_the_overall_cap_every_new_client_is_refused(capped_server) -> None:
    server = capped_server
    wait_for(lambda: get_health(server).startswith(b"HTTP/1.1 200"))
    with open_sockets(server, 5, b"", source="127.0.0.2"), open_sockets(server, 3, b"", source="127.0.0.3"):
        refused = get_health(server, source="127.0.0.4")
        assert refused.startswith(b"HTTP/1.1 503"), refused
        assert b"MAX_CONNECTIONS=8" in refused
    wait_for(lambda: get_health(server, source="127.0.0.4").startswith(b"HTTP/1.1 200"))


# --- X-Forwarded-For ------------------------------------------------------------------------------
def failed_logins(
    server: RunningServer, count: int, forwarded_for: str | None = None
) -> list[httpx.Response]:
    responses = []
    for attempt in range(count):
        headers = {"X-Forwarded-For": forwarded_for or f"203.0.113.{attempt + 1}"}
        responses.append(
            httpx.post(
                server.url + "/api/login", data={"username": "admin", "password": "wrong"}, headers=headers
            )
        )
    return responses


def test_a_rotating_forwarded_for_does_not_escape_the_login_throttle(server_factory) -> None:
    server = server_factory({"VITALGRAPH_LOGIN_MAX_FAILURES": "3"}, name="no-proxies")
    statuses = [r.status_code for r in failed_logins(server, 5)]
    assert statuses == [401, 401, 401, 429, 429], statuses
    refused = httpx.post(server.url + "/api/login", data={"username": "admin", "password": ADMIN_PASSWORD})
    assert refused.status_code == 429
    assert "from 127.0.0.1" in refused.json()["detail"]  # the real peer, not a header


def test_forwarded_for_is_believed_from_a_trusted_proxy(server_factory) -> None:
    server = server_factory(
        {
            "VITALGRAPH_LOGIN_MAX_FAILURES": "3",
            "VITALGRAPH_TRUSTED_PROXIES": "127.0.0.1",
            "VITALGRAPH_MAX_CONNECTIONS_PER_CLIENT": "2",
        },
        name="behind-proxy",
    )
    assert [r.status_code for r in failed_logins(server, 5)] == [401] * 5  # five clients behind the proxy
    same_client = failed_logins(server, 4, forwarded_for="198.51.100.7")
    assert [r.status_code for r in same_client] == [401, 401, 401, 429]
    assert "from 198.51.100.7" in same_client[-1].json()["detail"]
    # the proxy is not held to the per-client cap (its clients share its address); others are
    with open_sockets(server, 4, b""):
        assert get_health(server).startswith(b"HTTP/1.1 200")
    with open_sockets(server, 2, b"", source="127.0.0.2"):
        assert get_health(server, source="127.0.0.2").startswith(b"HTTP/1.1 503")
