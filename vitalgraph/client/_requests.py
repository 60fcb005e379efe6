"""Requests described without I/O, reply parsing and error mapping, shared by the sync and async clients."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel

from vitalgraph.client.errors import NetworkError, VitalGraphClientError, error_for_status

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# Marks a streamed request body that can be sent again (the auth flow may retry it after a 401).
REPLAYABLE_BODY = "vitalgraph.replayable_body"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call: what to send and how to read a successful reply. Twins run it with their own I/O."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content: Iterable[bytes] | AsyncIterable[bytes] | None = None
    replayable: bool = True

    def build(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        request = http.build_request(
            self.method,
            self.path,
            params=self.params,
            json=self.json,
            headers=dict(self.headers),
            content=self.content,  # type: ignore[arg-type]
        )
        if self.content is not None:
            request.extensions[REPLAYABLE_BODY] = self.replayable
        return request

    def with_headers(self, **headers: str) -> Call[T]:
        return Call(
            self.method,
            self.path,
            self.parse,
            self.params,
            self.json,
            {**self.headers, **headers},
            self.content,
            self.replayable,
        )


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without the ones left unset."""
    return {name: value for name, value in params.items() if value is not None}


def model_reply(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate(response.json())


def error_detail(response: httpx.Response) -> str:
    """The server's `{"detail": ...}` message, or what else the body says."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if detail is None:
        detail = response.text.strip()[:500] or response.reason_phrase or "no detail given"
    return detail if isinstance(detail, str) else str(detail)


def raise_for_error(response: httpx.Response) -> None:
    """Raise the typed error for a 4xx/5xx reply whose body has been read."""
    if response.is_error:
        raise error_for_status(
            response.status_code, error_detail(response), response.headers.get("retry-after")
        )


@contextlib.contextmanager
def network_errors() -> Iterator[None]:
    """httpx's transport errors become NetworkError, so callers catch one family of errors."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise NetworkError(f"timed out talking to the server: {type(exc).__name__} {exc}".strip()) from exc
    except httpx.TransportError as exc:
        raise NetworkError(f"connection to the server failed: {type(exc).__name__}: {exc}") from exc
    except httpx.StreamError as exc:  # e.g. a body read after the connection was closed
        raise VitalGraphClientError(f"HTTP stream error: {exc}") from exc
