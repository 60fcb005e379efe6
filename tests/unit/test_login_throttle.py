"""LoginThrottle: a sliding window of failed logins per (username, client) and per client."""

from __future__ import annotations

import pytest

from vitalgraph.errors import TooManyRequestsError
from vitalgraph.services.login_throttle import PER_CLIENT_FACTOR, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(max_failures: int = 3, window: float = 60, **kwargs) -> tuple[LoginThrottle, Clock]:
    clock = Clock()
    return LoginThrottle(max_failures, window, clock=clock, **kwargs), clock


def fail(throttle: LoginThrottle, times: int, username: str = "ann", client: str = "10.0.0.1") -> None:
    for _ in range(times):
        throttle.check(username, client)
        throttle.failed(username, client)


def test_the_failure_after_the_limit_is_refused_with_the_wait_until_the_oldest_expires():
    throttle, clock = make()
    fail(throttle, 3)
    clock.now += 20
    with pytest.raises(TooManyRequestsError) as refused:
        throttle.check("ann", "10.0.0.1")
    assert refused.value.retry_after == 40
    assert "too many failed logins as 'ann' from 10.0.0.1" in str(refused.value)
    clock.now += 40  # the first failure leaves the window
    throttle.check("ann", "10.0.0.1")


def test_other_clients_and_other_usernames_are_not_held_back():
    throttle, _ = make()
    fail(throttle, 3)
    throttle.check("ann", "10.0.0.2")
    throttle.check("bob", "10.0.0.1")


def test_a_client_failing_on_many_usernames_is_refused_for_all():
    throttle, _ = make()
    for n in range(PER_CLIENT_FACTOR):
        fail(throttle, 3, username=f"user{n}")
    with pytest.raises(TooManyRequestsError, match="for any user"):
        throttle.check("someone-new", "10.0.0.1")
    throttle.check("someone-new", "10.0.0.9")


def test_a_success_clears_the_count_for_that_username():
    throttle, _ = make()
    fail(throttle, 2)
    throttle.succeeded("ann", "10.0.0.1")
    fail(throttle, 2)
    throttle.check("ann", "10.0.0.1")


def test_zero_max_failures_turns_throttling_off():
    throttle, _ = make(max_failures=0)
    for _ in range(100):
        throttle.check("ann", "10.0.0.1")
        throttle.failed("ann", "10.0.0.1")
    assert len(throttle._failures) == 0  # and nothing is kept for it


def test_memory_is_bounded_by_dropping_the_least_recently_failed():
    throttle, _ = make(max_tracked=10)
    fail(throttle, 3)  # two keys: user and client
    for n in range(20):
        fail(throttle, 1, username=f"u{n}", client=f"10.1.0.{n}")
    assert len(throttle._failures) == 10
    throttle.check("ann", "10.0.0.1")  # evicted: counting starts again
