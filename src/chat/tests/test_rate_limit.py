"""The per-user rate limit is a sliding window: never more than N messages in any
window-length interval, wherever the window boundaries of a clock would fall, and across
processes (the Redis variant keeps one log that every process trims and grows atomically).
"""
import asyncio
import time
from types import SimpleNamespace

import pytest

from chat import actions, protocol
from chat.protocol import ProtocolError
from chat.state import MemoryStore, get_store

MINUTE = 60.0
BOUNDARY = 29_000_000 * MINUTE  # a whole minute: where a fixed window would start afresh


@pytest.fixture
def clock(monkeypatch):
    """time.time() under the test's control (asyncio's loop uses time.monotonic: untouched)."""
    now = [BOUNDARY - 0.7]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


@pytest.fixture
def fresh_memory(monkeypatch):
    monkeypatch.setattr("chat.state._memory", MemoryStore())


async def sends_allowed(user, count: int) -> int:
    allowed = 0
    for _ in range(count):
        try:
            await actions.check_rate(user)
            allowed += 1
        except ProtocolError as refusal:
            assert refusal.code == protocol.RATE_LIMITED
    return allowed


async def test_no_burst_of_twice_the_limit_across_a_window_boundary(chat_layer, settings, clock, fresh_memory):
    settings.CHAT_RATE_LIMIT = "5/m"
    user = SimpleNamespace(pk=7)
    assert await sends_allowed(user, 5) == 5  # 0.7 s before a minute boundary
    clock[0] = BOUNDARY + 0.7  # 1.4 s later, in the next fixed window
    with pytest.raises(ProtocolError) as refused:
        await actions.check_rate(user, client_id="c1")
    assert refused.value.code == protocol.RATE_LIMITED
    assert refused.value.client_id == "c1"
    # The oldest of the five leaves the window 60 s after it was taken: 58.6 s from now.
    assert refused.value.retry_after == pytest.approx(58.6, abs=0.11)
    assert await sends_allowed(user, 3) == 0  # refusals do not push the wait further out

    clock[0] = BOUNDARY - 0.7 + MINUTE + 0.01  # the first five have left the window
    assert await sends_allowed(user, 6) == 5
    # Another user has a log of their own.
    assert await sends_allowed(SimpleNamespace(pk=8), 5) == 5


async def test_any_window_length_interval_holds_at_most_the_limit(chat_layer, settings, clock, fresh_memory):
    """Sends every 1.7 s for five minutes at 5/m: check every 60 s span of the accepted ones."""
    settings.CHAT_RATE_LIMIT = "5/m"
    user = SimpleNamespace(pk=9)
    accepted = []
    for step in range(180):
        clock[0] = BOUNDARY - 100 + step * 1.7
        if await sends_allowed(user, 1):
            accepted.append(clock[0])
    for index, start in enumerate(accepted):
        in_window = [t for t in accepted[index:] if t < start + MINUTE]
        assert len(in_window) <= 5, f"{len(in_window)} sends within 60 s from t={start}"
    assert len(accepted) >= 25  # and the limit does let 5 a minute through (300 s)


async def test_concurrent_hits_take_exactly_the_limit(chat_layer, fresh_memory):
    """Many coroutines racing (on Redis: one script per hit, as separate processes would)."""
    store = get_store()
    results = await asyncio.gather(*(store.hit("user:race", 5, 30) for _ in range(40)))
    assert sum(result is None for result in results) == 5
    # Each hit reads the clock before its script runs, and the scripts run in any order, so
    # a refused hit may be told a few milliseconds more than the window.
    assert all(0 < result <= 30.5 for result in results if result is not None)
