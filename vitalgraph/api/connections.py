"""Connection limits in the HTTP protocol layer: what uvicorn leaves open.

uvicorn closes a connection idle between requests (keep-alive timeout) but never one that has not
finished sending a request's line and headers, nor does it count connections per client. So a
client could hold any number of sockets open with half a request line each (slowloris). The
protocol here, installed by `vitalgraph serve` in place of uvicorn's httptools protocol, adds:

* a header-read timeout: from a connection's first moment, and from the first byte of each later
  request, the line and headers must arrive within HEADER_TIMEOUT_SECONDS; else 408 and closed;
* a cap on the connections open at once, over all clients (MAX_CONNECTIONS) and per client address
  (MAX_CONNECTIONS_PER_CLIENT; an IPv6 client is its /64, which one host usually holds whole). A
  connection over a cap is answered 503 naming the cap and closed, its request unread. The client
  is the connection's peer: trusted proxies (TRUSTED_PROXIES) are exempt from the per-client cap,
  since every client behind them shares their address.

All of it is per server process; the counts are in memory because connections are.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import Counter
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# A refused connection is kept this long after its 503, reading and dropping what the client sends,
# so that the client reads the answer rather than a reset (closing with unread input sends RST).
REFUSAL_LINGER_SECONDS = 1.0


def client_key(host: str) -> str:
    """What the per-client cap counts: the address; for IPv6 its /64."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a unix socket): as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class ConnectionLimits:
    """The connections one server process holds, per client and in all."""

    def __init__(self, max_connections: int, max_per_client: int, trusted_proxies: list[str] = ()) -> None:
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.exempt = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self.total = 0
        self.per_client: Counter[str] = Counter()

    def admit(self, host: str | None) -> str | None:
        """Count a new connection from `host`; or, over a cap, return why it is refused."""
        if self.total >= self.max_connections:
            return f"the server holds {self.total} connections, its limit (MAX_CONNECTIONS={self.max_connections})"
        key = None if host is None or self._exempt(host) else client_key(host)
        if key is not None and self.per_client[key] >= self.max_per_client:
            return (
                f"{host} has {self.per_client[key]} connections open, the limit per client "
                f"(MAX_CONNECTIONS_PER_CLIENT={self.max_per_client}); reuse or close one"
            )
        self.total += 1
        if key is not None:
            self.per_client[key] += 1
        return None

    def release(self, host: str | None) -> None:
        self.total -= 1
        if host is not None and not self._exempt(host):
            key = client_key(host)
            self.per_client[key] -= 1
            if self.per_client[key] <= 0:
                del self.per_client[key]

    def _exempt(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.exempt)


def guarded_protocol(limits: ConnectionLimits, header_timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the header timeout and the connection caps (pass as `http=`)."""

    class Guarded(GuardedHttpToolsProtocol):
        pass

    Guarded.limits = limits
    Guarded.header_timeout = header_timeout
    return Guarded


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ConnectionLimits
    header_timeout: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._admitted = False
        self._header_timer: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None

    # --- admission ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        refusal = self.limits.admit(self._host)
        if refusal is not None:
            self.logger.warning("refused a connection from %s: %s", self._host, refusal)
            self._refuse(refusal)
            return
        self._admitted = True
        self._arm_header_timer()

    def _refuse(self, reason: str) -> None:
        self._answer(503, reason, b"retry-after: 1\r\n")
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer, then FIN; what the client still sends is dropped
        self._linger = self.loop.call_later(REFUSAL_LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        if self._linger is not None:
            self._linger.cancel()
        if self._admitted:
            self._admitted = False
            self.limits.release(self._host)
        super().connection_lost(exc)

    @property
    def _host(self) -> str | None:
        return self.client[0] if self.client else None

    # --- header-read timeout -------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # the first byte of a request after the first
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._on_header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_header_timer()  # a pipelined request waits behind a response still going out
            return
        self._answer(
            408,
            f"the request line and headers did not arrive within {self.header_timeout:g} s "
            "(HEADER_TIMEOUT_SECONDS)",
        )
        self.transport.close()

    def _answer(self, status: int, detail: str, extra_headers: bytes = b"") -> None:
        body = json.dumps({"detail": detail}).encode()
        reason = {408: b"Request Timeout", 503: b"Service Unavailable"}[status]
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n%s\r\n%s" % (status, reason, len(body), extra_headers, body)
        )
