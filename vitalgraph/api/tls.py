"""HTTPS around the app: the HSTS header, and a plain-HTTP listener that only redirects to HTTPS."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import URL, Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class StrictTransportSecurity:
    """Adds `Strict-Transport-Security` to every answer sent over HTTPS, so browsers never fall back."""

    def __init__(self, app: ASGIApp, max_age_seconds: int) -> None:
        self.app = app
        self.header = (b"strict-transport-security", f"max-age={max_age_seconds}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)


class RedirectToHttps:
    """The whole app of the plain-HTTP listener: 308 to the same path over HTTPS (308 keeps the method
    and body, so an upload sent to the wrong port is retried, not turned into a GET). The target is the
    public base URL when one is set, else the request's host on the HTTPS port."""

    def __init__(self, https_port: int, public_base_url: str | None = None) -> None:
        self.https_port = https_port
        self.public_base_url = public_base_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        location = self.location(scope)
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [(b"location", location.encode()), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    def location(self, scope: Scope) -> str:
        url = URL(scope=scope)
        path_and_query = url.path + (f"?{url.query}" if url.query else "")
        if self.public_base_url:
            base = urlsplit(self.public_base_url)
            return f"https://{base.netloc}{base.path.rstrip('/')}{path_and_query}"
        host = Headers(scope=scope).get("host", "") or (scope.get("server") or ("localhost", 0))[0]
        hostname = urlsplit(f"//{host}").hostname or "localhost"
        if ":" in hostname:  # an IPv6 literal
            hostname = f"[{hostname}]"
        port = "" if self.https_port == 443 else f":{self.https_port}"
        return f"https://{hostname}{port}{path_and_query}"


async def _answer_lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
