"""OpenTelemetry traces: one span per request, child spans for the services' calls into the graph and
blob stores, and, on uploads, the seconds spent receiving, hashing, storing and committing.

Off by default: the API's no-op tracer costs next to nothing. `configure(...)` turns it on, with an OTLP
exporter (`OTLP_ENDPOINT`) or with any provider a caller brings (tests use the SDK's in-memory exporter).
This module sits on the bottom floor, beside `errors`, so every layer can open spans.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from typing import Any

from opentelemetry import trace

STAGES = ("receive", "hash", "store", "commit")
_provider: trace.TracerProvider | None = None
_stage_times: ContextVar[StageTimes | None] = ContextVar("vitalgraph_stage_times", default=None)


def configure(provider: trace.TracerProvider | None) -> None:
    """Send spans to `provider` from now on (None: back to the no-op tracer)."""
    global _provider
    _provider = provider


def otlp_provider(endpoint: str, service_name: str = "vitalgraph") -> trace.TracerProvider:
    """A provider that batches spans to an OTLP/HTTP collector (e.g. http://collector:4318/v1/traces)."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def provider() -> trace.TracerProvider | None:
    return _provider


def enabled() -> bool:
    return _provider is not None


def tracer() -> trace.Tracer:
    return (_provider or trace.NoOpTracerProvider()).get_tracer("vitalgraph")


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[trace.Span]:
    with tracer().start_as_current_span(name, attributes=attributes or None) as current:
        yield current


class StageTimes:
    """Seconds per stage of one transfer. Worker threads add to it too: each add is one float store."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] += seconds

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)


@contextlib.contextmanager
def transfer_stages(current: trace.Span) -> Iterator[StageTimes]:
    """Collect stage times for the code inside; they land on `current` as `vitalgraph.<stage>_seconds`."""
    times = StageTimes()
    token = _stage_times.set(times)
    try:
        yield times
    finally:
        _stage_times.reset(token)
        for stage, seconds in times.seconds.items():
            current.set_attribute(f"vitalgraph.{stage}_seconds", round(seconds, 6))


def stage_times() -> StageTimes | None:
    """The transfer being timed in this context, if any. Capture it before handing work to a thread."""
    return _stage_times.get() if enabled() else None


async def timed_receive(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`chunks` unchanged, the time spent waiting for each counted as "receive"."""
    times = stage_times()
    if times is None:
        async for chunk in chunks:
            yield chunk
        return
    iterator = chunks.__aiter__()
    while True:
        started = time.perf_counter()
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        finally:
            times.add("receive", time.perf_counter() - started)
        yield chunk


def instrument(store: object, kind: str, methods: tuple[str, ...]) -> None:
    """Wrap the named async methods of one store instance in spans named `<kind>.<method>`."""
    for name in methods:
        method = getattr(store, name, None)
        if method is None:
            continue
        if inspect.isasyncgenfunction(method):
            setattr(store, name, _traced_generator(method, f"{kind}.{name}"))
        elif inspect.iscoroutinefunction(method):
            setattr(store, name, _traced_coroutine(method, f"{kind}.{name}"))


def _traced_coroutine(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(method)
    async def traced(*args: Any, **kwargs: Any) -> Any:
        with span(name):
            return await method(*args, **kwargs)

    return traced


def _traced_generator(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(method)
    async def traced(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        with span(name):
            async for item in method(*args, **kwargs):
                yield item

    return traced
