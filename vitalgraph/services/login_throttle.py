"""Login throttling: a client that keeps sending wrong passwords is refused (429) for a while.

Failures are counted in a sliding window per (username, client address) and per client address over
all usernames, so guessing one account's password and trying one password on many accounts are both
slowed, while nobody else is locked out of an account someone is attacking. Counts live in the
process (per replica) and at most `max_tracked` keys are kept, the least recently failed dropped first.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

from vitalgraph.errors import TooManyRequestsError

# One client may fail this many times more over all usernames than on one username.
PER_CLIENT_FACTOR = 5


class LoginThrottle:
    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        *,
        max_tracked: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.max_tracked = max_tracked
        self._clock = clock
        self._failures: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def check(self, username: str, client: str) -> None:
        """TooManyRequestsError if this client may not try to log in (as `username`) right now."""
        if self.max_failures == 0:
            return
        now = self._clock()
        for key, limit, whom in self._keys(username, client):
            times = self._failures.get(key)
            if times is not None and len(self._prune(times, now)) >= limit:
                wait = max(1, math.ceil(times[0] + self.window_seconds - now))
                raise TooManyRequestsError(
                    f"too many failed logins {whom} from {client}: try again in {wait} s", retry_after=wait
                )

    def failed(self, username: str, client: str) -> None:
        if self.max_failures == 0:
            return  # throttling off: nothing to count
        now = self._clock()
        for key, _, _ in self._keys(username, client):
            self._prune(self._failures.setdefault(key, deque()), now).append(now)
            self._failures.move_to_end(key)
        while len(self._failures) > self.max_tracked:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, client: str) -> None:
        """A right password clears that username's count for the client (not the client's total)."""
        self._failures.pop(("user", username, client), None)

    def _keys(self, username: str, client: str) -> list[tuple[Hashable, int, str]]:
        return [
            (("user", username, client), self.max_failures, f"as {username!r}"),
            (("client", client), self.max_failures * PER_CLIENT_FACTOR, "for any user"),
        ]

    def _prune(self, times: deque[float], now: float) -> deque[float]:
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        return times
