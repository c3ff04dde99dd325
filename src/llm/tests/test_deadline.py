"""stream()'s deadline: it interrupts only the wait for the upstream, moves without a timer
per chunk, and tells its own cancellation from anyone else's."""
import asyncio

import pytest

from llm._langchain import Deadline


async def cancelled_while_waiting() -> None:
    """A wait for the upstream that only a cancellation ends."""
    with pytest.raises(asyncio.CancelledError):
        await asyncio.sleep(5)


async def test_a_wait_past_the_deadline_is_cancelled_and_known_as_ours():
    loop = asyncio.get_running_loop()
    deadline = Deadline(loop.time() + 0.05)
    await cancelled_while_waiting()
    assert deadline.expired()
    assert asyncio.current_task().cancelling() == 0  # taken back
    deadline.cancel()


async def test_the_callers_time_between_chunks_does_not_count():
    loop = asyncio.get_running_loop()
    deadline = Deadline(loop.time() + 0.05)
    deadline.pause()
    await asyncio.sleep(0.15)  # the caller's work, past the deadline: not interrupted
    deadline.resume(loop.time() + 0.05)
    await cancelled_while_waiting()
    assert deadline.expired()


async def test_a_deadline_moved_on_per_chunk_never_fires_and_keeps_one_timer():
    loop = asyncio.get_running_loop()
    deadline = Deadline(loop.time() + 0.1)
    timers = set()
    for _ in range(40):  # 0.4 s of chunks 10 ms apart, each moving the deadline 0.1 s on
        await asyncio.sleep(0.01)
        deadline.pause()
        deadline.resume(loop.time() + 0.1)
        timers.add(id(deadline.timer))
    assert not deadline.fired
    assert len(timers) <= 8, "a timer per chunk"  # about one per 0.1 s, not 40
    deadline.resume(loop.time() + 0.02)  # earlier: set again at once
    await cancelled_while_waiting()
    assert deadline.expired()


async def test_someone_elses_cancellation_is_not_taken_for_a_timeout():
    loop = asyncio.get_running_loop()
    deadline = Deadline(loop.time() + 0.02)
    task = asyncio.current_task()
    loop.call_later(0.01, task.cancel)  # a stop, before the deadline
    await cancelled_while_waiting()
    assert not deadline.expired()
    deadline.cancel()
    task.uncancel()
