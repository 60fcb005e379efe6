"""Small helpers shared by the benchmarks: sizes, ports, waiting for a server, peak-RSS sampling."""

from __future__ import annotations

import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import httpx
import psutil

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
_UNITS = {"": 1, "B": 1, "K": KiB, "M": MiB, "G": GiB}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:I?B)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'64K', '1M', '1.5G', '4096' -> bytes (binary units: 1M = 1 MiB)."""
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 64K, 100M, 1G)")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.upper()])


def parse_sizes(text: str) -> list[int]:
    """'100M,1G' -> [104857600, 1073741824]."""
    return [parse_size(part) for part in text.split(",") if part.strip()]


def format_size(size: int) -> str:
    """1073741824 -> '1G', 65536 -> '64K' (the inverse of parse_size for round sizes)."""
    for unit, factor in (("G", GiB), ("M", MiB), ("K", KiB)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(url: str, is_alive: Callable[[], bool], timeout: float = 60) -> None:
    """Poll `url` until it answers 200; raise if `is_alive()` turns false or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive():
            raise RuntimeError(f"server behind {url} exited during startup")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """'median (min–max)' of a few runs, rounded to whole units."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.0f}"
    return f"{median(values):.0f} ({min(values):.0f}–{max(values):.0f})"


class PeakRssSampler:
    """Samples the RSS of some processes every `interval` seconds in a thread; keeps each one's peak.

    Use as a context manager. Processes that exit (or never existed) are skipped quietly.
    """

    def __init__(self, pids: Sequence[int], interval: float = 0.02) -> None:
        self.interval = interval
        self.peaks: dict[int, int] = {pid: 0 for pid in pids}
        self._processes = {pid: _process_or_none(pid) for pid in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> PeakRssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        for pid, process in self._processes.items():
            if process is None:
                continue
            try:
                self.peaks[pid] = max(self.peaks[pid], process.memory_info().rss)
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                self._processes[pid] = None


def _process_or_none(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system
