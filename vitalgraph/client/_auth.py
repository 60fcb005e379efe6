"""Bearer authentication as an httpx auth flow: an API key as is, or username/password with login,
refresh before expiry, and one retry after a 401.

`TokenState` decides (no I/O); `BearerAuth` drives it for httpx.Client and httpx.AsyncClient, so the
login and refresh requests go through whatever transport the client has, the in-process mock included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator

import anyio
import httpx

from vitalgraph.client._requests import REPLAYABLE_BODY, raise_for_error
from vitalgraph.client.errors import VitalGraphClientError

_RETRIED = "vitalgraph.auth_retried"
_REFRESH_PATH = "api/refresh"


class TokenState:
    def __init__(
        self,
        *,
        api_root: httpx.URL,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_root = api_root
        self.username = username
        self._password = password
        self._api_key = api_key
        self._clock = clock
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.expires_at = 0.0

    @property
    def uses_login(self) -> bool:
        return self._api_key is None

    def needs_token(self) -> bool:
        return self.uses_login and (self.access_token is None or self._clock() >= self.expires_at)

    def next_token_request(self, original: httpx.Request) -> httpx.Request | None:
        """The refresh (or, lacking a refresh token, login) request still needed, if any."""
        if not self.needs_token():
            return None  # another request got a fresh token meanwhile
        timeout = {
            "timeout": original.extensions.get("timeout", {})
        }  # requests built here get none by default
        if self.refresh_token:
            body = {"refresh_token": self.refresh_token}
            return httpx.Request("POST", self.api_root.join(_REFRESH_PATH), json=body, extensions=timeout)
        form = {"username": self.username or "", "password": self._password or ""}
        return httpx.Request("POST", self.api_root.join("api/login"), data=form, extensions=timeout)

    def accept(self, request: httpx.Request, response: httpx.Response) -> None:
        """Store the tokens of a login/refresh reply; a refused refresh falls back to logging in."""
        if response.is_success:
            reply = response.json()
            self.access_token = reply["access_token"]
            self.refresh_token = reply.get("refresh_token")
            lifetime = float(reply.get("expires_in", 0))
            self.expires_at = self._clock() + lifetime - min(60.0, lifetime / 10)  # refresh a little early
        elif request.url.path.endswith(_REFRESH_PATH) and response.status_code in (400, 401, 422):
            self.refresh_token = None
        else:
            raise_for_error(response)
            status = response.status_code
            raise VitalGraphClientError(f"unexpected reply {status} to a token request", status_code=status)

    def authorize(self, request: httpx.Request) -> httpx.Request:
        token = self._api_key if self._api_key is not None else self.access_token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def should_retry(self, request: httpx.Request, response: httpx.Response) -> bool:
        """After a 401 with a token we obtained: forget that token and send once more, if the body allows."""
        if response.status_code != 401 or not self.uses_login or request.extensions.get(_RETRIED):
            return False
        if not request.extensions.get(REPLAYABLE_BODY, isinstance(request.stream, httpx.ByteStream)):
            return False
        if request.headers.get("Authorization") == f"Bearer {self.access_token}":
            self.access_token = None  # only if no other request has replaced it already
        request.extensions[_RETRIED] = True
        return True


class BearerAuth(httpx.Auth):
    """Runs `TokenState` for both client kinds; only token requests are locked and read here."""

    def __init__(self, tokens: TokenState) -> None:
        self.tokens = tokens
        self._thread_lock = threading.Lock()
        self._task_lock = anyio.Lock()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        while True:
            if self.tokens.needs_token():
                with self._thread_lock:
                    while (token_request := self.tokens.next_token_request(request)) is not None:
                        token_response = yield token_request
                        token_response.read()
                        self.tokens.accept(token_request, token_response)
            response = yield self.tokens.authorize(request)
            if not self.tokens.should_retry(request, response):
                return

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        while True:
            if self.tokens.needs_token():
                async with self._task_lock:
                    while (token_request := self.tokens.next_token_request(request)) is not None:
                        token_response = yield token_request
                        await token_response.aread()
                        self.tokens.accept(token_request, token_response)
            response = yield self.tokens.authorize(request)
            if not self.tokens.should_retry(request, response):
                return
