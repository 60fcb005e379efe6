"""Absolute URLs the server hands out, built in one place.

With PUBLIC_BASE_URL set, every absolute URL starts with it, whatever Host header or scheme the
request came with (a Host a client chose must not end up in a Location another client follows).
Without it, the URL is derived from the request: scheme and Host, as a trusted proxy forwarded them
(TRUSTED_PROXIES), and the ASGI root path.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def base_url(request: Request) -> str:
    """Where the app's root is for clients, without a trailing slash."""
    public = request.app.state.services.settings.PUBLIC_BASE_URL
    return public or str(request.base_url).rstrip("/")


def absolute_url(request: Request, path: str) -> str:
    """`path` (from the app's root, e.g. from `app.url_path_for`) as an absolute URL for clients."""
    return base_url(request) + "/" + path.lstrip("/")


class PublicLocationMiddleware:
    """Re-bases the absolute Location headers that the framework builds from the request itself (the
    trailing-slash redirects) on PUBLIC_BASE_URL; installed only when that setting is given."""

    def __init__(self, app: ASGIApp, public_base_url: str) -> None:
        self.app = app
        self.public = public_base_url.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        derived = str(Request(scope).base_url)  # what the framework would have used, ending in "/"

        async def send_rebased(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                location = headers.get("location")
                if location is not None and location.startswith(derived):
                    headers["location"] = self.public + location[len(derived) :]
            await send(message)

        await self.app(scope, receive, send_rebased)
