"""Prometheus metrics: bytes through the streaming layer, transfers in flight, errors, durations, loop lag.

Each app has its own registry, so several apps in one process (tests, the mock client) do not clash.
Byte counts are summed locally and added to the counter once per MiB, so a transfer pays one integer
addition per chunk, not a locked counter update.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

from vitalgraph.blobs.chunking import close_stream

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from vitalgraph.config import Settings

logger = logging.getLogger("vitalgraph.metrics")
FLUSH_EVERY_BYTES = 1024 * 1024
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.uploaded_bytes = Counter("vitalgraph_uploaded_bytes", "File content bytes received", registry=r)
        self.downloaded_bytes = Counter("vitalgraph_downloaded_bytes", "File content bytes sent", registry=r)
        self.transfers_in_flight = Gauge(
            "vitalgraph_transfers_in_flight", "File transfers running now", ["direction"], registry=r
        )
        self.errors = Counter(
            "vitalgraph_errors",
            "Error responses by error class and HTTP status",
            ["kind", "status"],
            registry=r,
        )
        self.request_duration = Histogram(
            "vitalgraph_request_duration_seconds",
            "Time from request start to the last response byte, by route template",
            ["method", "route", "status"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.loop_lag = Histogram(
            "vitalgraph_event_loop_lag_seconds",
            "How late the event loop woke a sleeping monitor",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.loop_lag_max = Gauge(
            "vitalgraph_event_loop_lag_max_seconds", "Largest event-loop lag seen", registry=r
        )
        self.gc_frozen = Gauge(
            "vitalgraph_gc_frozen_objects",
            "Objects the cyclic garbage collector leaves out of its passes (start-up's, frozen by serve)",
            registry=r,
        )
        self.gc_frozen.set_function(gc.get_freeze_count)
        for direction in ("upload", "download"):
            self.transfers_in_flight.labels(direction)  # exported as 0 before the first transfer
        self.space_bytes = Gauge(
            "vitalgraph_space_bytes", "File content bytes stored per space", ["space_id"], registry=r
        )
        self.space_files = Gauge("vitalgraph_space_files", "File nodes per space", ["space_id"], registry=r)

    async def watch_usage(self, services: object, interval_seconds: float) -> None:
        """Refresh the per-space usage gauges every `interval_seconds` (the counts are graph queries)."""
        while True:
            try:
                await self.refresh_usage(services)
            except Exception as exc:  # a store hiccup must not end the loop
                logger.warning("usage metrics not refreshed: %s", exc)
            await asyncio.sleep(interval_seconds)

    async def refresh_usage(self, services: object) -> None:
        spaces = await services.spaces.list()  # type: ignore[attr-defined]
        seen = set()
        for space in spaces:
            usage = await services.quotas.usage(space)  # type: ignore[attr-defined]
            self.space_bytes.labels(space.space_id).set(usage.bytes)
            self.space_files.labels(space.space_id).set(usage.files)
            seen.add(space.space_id)
        for gauge in (self.space_bytes, self.space_files):
            for labels in list(gauge._metrics):  # drop deleted spaces' series
                if labels[0] not in seen:
                    gauge.remove(*labels)

    def serve_on_port(self, settings: Settings) -> MetricsListener:
        """Serve this registry on METRICS_HOST (default HOST):METRICS_PORT, in a thread of its own."""
        assert settings.METRICS_PORT is not None
        host = settings.METRICS_HOST or settings.HOST
        server, thread = start_http_server(settings.METRICS_PORT, host, registry=self.registry)
        logger.info("metrics on http://%s:%d/metrics", host, settings.METRICS_PORT)
        return MetricsListener(server, thread)

    def render(self) -> bytes:
        return generate_latest(self.registry)

    def count_error(self, kind: str, status: int) -> None:
        self.errors.labels(kind, str(status)).inc()

    async def metered(self, chunks: AsyncIterator[bytes], direction: str) -> AsyncIterator[bytes]:
        """Pass `chunks` through, counting bytes and holding one 'in flight' slot for `direction`."""
        counter = self.uploaded_bytes if direction == "upload" else self.downloaded_bytes
        in_flight = self.transfers_in_flight.labels(direction)
        pending = 0
        in_flight.inc()
        try:
            async for chunk in chunks:
                pending += len(chunk)
                if pending >= FLUSH_EVERY_BYTES:
                    counter.inc(pending)
                    pending = 0
                yield chunk
        finally:
            counter.inc(pending)
            in_flight.dec()
            await close_stream(chunks)

    async def watch_loop_lag(self, interval: float, warn_after: float) -> None:
        """Sleep `interval` again and again; any extra delay is time the loop spent blocked or saturated."""
        worst = 0.0
        while True:
            started = time.perf_counter()
            await asyncio.sleep(interval)
            lag = max(0.0, time.perf_counter() - started - interval)
            self.loop_lag.observe(lag)
            if lag > worst:
                worst = lag
                self.loop_lag_max.set(lag)
            if lag > warn_after:
                logger.warning("event loop lagged %.3f s (something blocked it or it is saturated)", lag)


@dataclass
class MetricsListener:
    """The separate metrics port (METRICS_ACCESS=port); `close()` stops it and frees the port."""

    server: WSGIServer
    thread: threading.Thread

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
