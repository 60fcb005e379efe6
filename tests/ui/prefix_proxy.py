"""A reverse proxy that serves a server under a path prefix, as nginx does with
`location /vg/ { proxy_pass http://upstream/; }`: it strips the prefix, sends the upstream's own Host,
streams bodies both ways, and rewrites Location headers that point at the upstream (nginx's default
`proxy_redirect`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "host",
}


class PrefixProxy:
    def __init__(self, upstream: str, port: int, prefix: str = "/vg") -> None:
        self.upstream = upstream.rstrip("/")
        self.port = port
        self.prefix = prefix
        self.url = f"http://127.0.0.1:{port}{prefix}/"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> PrefixProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self._session:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        if not path.startswith(self.prefix + "/"):
            return web.Response(status=404, text="not under the prefix")
        target = self.upstream + path[len(self.prefix) :]
        if request.rel_url.raw_query_string:
            target += "?" + request.rel_url.raw_query_string
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = _stream(request) if request.body_exists else None
        assert self._session is not None
        async with self._session.request(
            request.method, target, headers=headers, data=body, allow_redirects=False
        ) as answer:
            response = web.StreamResponse(status=answer.status)
            for name, value in answer.headers.items():
                if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                    continue
                if name.lower() == "location" and value.startswith(self.upstream + "/"):
                    value = self.url + value[len(self.upstream) + 1 :]
                response.headers.add(name, value)
            if answer.content_length is not None:
                response.content_length = answer.content_length
            await response.prepare(request)
            async for chunk in answer.content.iter_chunked(256 * 1024):
                await response.write(chunk)
            await response.write_eof()
            return response


async def _stream(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(256 * 1024):
        yield chunk
