"""IdleWatchdog: a wait that takes the timeout raises IdleTimeout; time between waits does not count;
a cancellation from elsewhere stays a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from vitalgraph.api.idle import IdleTimeout, IdleWatchdog

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the watchdog is asyncio's, like the server's event loop


async def test_a_wait_that_takes_too_long_raises_idle_timeout():
    watchdog = IdleWatchdog(0.1)
    started = asyncio.get_running_loop().time()
    with pytest.raises(IdleTimeout, match="no progress for 0.1 s"):
        await watchdog.wait(asyncio.sleep(10))
    assert 0.1 <= asyncio.get_running_loop().time() - started < 1
    watchdog.close()


async def test_only_time_spent_waiting_counts():
    watchdog = IdleWatchdog(0.1)
    for _ in range(5):  # 0.3 s of waiting in all, each wait short; 0.5 s of not waiting in between
        assert await watchdog.wait(asyncio.sleep(0.06, result="piece")) == "piece"
        await asyncio.sleep(0.1)
    watchdog.close()


async def test_a_cancellation_from_elsewhere_is_not_turned_into_a_timeout():
    watchdog = IdleWatchdog(5)
    task = asyncio.current_task()
    asyncio.get_running_loop().call_later(0.05, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await watchdog.wait(asyncio.sleep(10))
    task.uncancel()
    watchdog.close()


async def test_the_task_goes_on_normally_after_a_timeout():
    watchdog = IdleWatchdog(0.05)
    with pytest.raises(IdleTimeout):
        await watchdog.wait(asyncio.sleep(10))
    assert asyncio.current_task().cancelling() == 0
    await asyncio.sleep(0.01)  # not cancelled again
    watchdog.close()
