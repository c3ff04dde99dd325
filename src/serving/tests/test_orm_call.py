"""ORM calls of sockets and answers come back to the loop a turn sooner than asgiref's
(serving.connections.orm_call), on the same thread, with the caller's context."""
import asyncio
import contextvars
import threading
import time

import pytest
from asgiref.sync import ThreadSensitiveContext
from channels.db import database_sync_to_async

from chat.tasks import detached
from serving.connections import on_the_orm_thread, orm_call

asked = contextvars.ContextVar("asked", default=None)


async def turns_until_back(call) -> int:
    """Turns of the loop from the moment the thread's result is handed to it until the
    caller goes on: the loop is kept busy while the thread finishes, so that hand-over is
    the first callback of the first turn counted."""
    loop, go, turns, ticking = asyncio.get_running_loop(), threading.Event(), [0], [True]

    def work():
        go.wait(5)
        return "done"

    def tick():
        turns[0] += 1
        if ticking[0]:
            loop.call_soon(tick)

    calling = detached(call(work))  # as an answer calls: a task of its own
    await asyncio.sleep(0.05)  # on the thread, waiting for go
    go.set()
    time.sleep(0.3)  # a busy loop: the thread ends and hands its result over meanwhile
    loop.call_soon(tick)
    assert await calling == "done"
    ticking[0] = False
    return turns[0]


async def test_an_orm_call_comes_back_a_turn_of_the_loop_sooner_than_database_sync_to_async():
    """At 60 answers on one process a turn takes milliseconds, and a send waits for two calls."""
    theirs = await turns_until_back(lambda work: database_sync_to_async(work)())
    ours = await turns_until_back(lambda work: orm_call(work))
    assert ours < theirs, (ours, theirs)


@pytest.mark.django_db(transaction=True)
async def test_an_orm_call_runs_on_the_orm_thread_with_the_callers_context_and_raises_its_errors():
    from django.contrib.auth import get_user_model

    def look():
        return on_the_orm_thread(), asked.get(), get_user_model().objects.count()

    def fail():
        raise LookupError("no such thing")

    await orm_call(lambda: None)  # (a thread pool adds its thread to its set once it started it)
    asked.set("the caller's")
    assert await orm_call(look) == (True, "the caller's", 0)
    with pytest.raises(LookupError, match="no such thing"):
        await orm_call(fail)
    # The thread goes on after a failure.
    assert await detached(orm_call(look)) == (True, None, 0)  # (a detached task: a fresh context)


async def test_inside_a_request_an_orm_call_keeps_the_requests_thread():
    """Django runs each HTTP request's sync code on a thread of its own (ThreadSensitiveContext);
    there orm_call is database_sync_to_async."""
    await orm_call(lambda: None)
    async with ThreadSensitiveContext():
        assert not await orm_call(on_the_orm_thread)
    assert await detached(orm_call(on_the_orm_thread))
