"""The thread that runs the async ORM calls of sockets and answers keeps its connection.

With the PostgreSQL pool (settings: DATABASE_POOL_SIZE), Django gives a connection back
after every use (CONN_MAX_AGE must be 0 there), and the pool checks each one it hands out
with a round trip (CONN_HEALTH_CHECKS). So every database_sync_to_async call of a socket or
an answer took a connection, pinged the server and gave it back: 40 % of that thread's
samples for a one-row read. That thread (asgiref's single thread: every ORM call made
outside an HTTP request runs there) keeps the one it has; request threads still give
theirs back.

A kept connection is still replaced once it goes bad: close_old_connections(), which
database_sync_to_async runs around every call, closes one that raised a database error and
then fails a `SELECT 1`, or that was left inside a transaction, and the pool drops it. The
call that first meets a connection the server dropped fails, as a pooled one did when the
pool had not checked it.

The ORM thread's results come back to the loop in two turns of it (orm_call), not asgiref's
three.
"""
import asyncio
import contextvars
import threading

from asgiref.sync import AsyncToSync, SyncToAsync
from channels.db import database_sync_to_async
from django.db import close_old_connections, connections


def keep_on_the_orm_thread(sender, connection, **kwargs) -> None:
    """connection_created: a pooled connection opened on the ORM thread is never too old."""
    if getattr(connection, "pool", None) is not None and on_the_orm_thread():
        connection.close_at = None


def on_the_orm_thread() -> bool:
    return threading.current_thread() in SyncToAsync.single_thread_executor._threads


def give_back() -> None:
    """Close the ORM thread's connections (back to the pool): before the database they use
    is dropped (tests), since a closing pool closes only what it holds."""
    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=30)


async def orm_call(func, /, *args, **kwargs):
    """database_sync_to_async(func)(*args, **kwargs) for the ORM calls of sockets and
    answers: on the same thread (asgiref's single thread), with connections checked the same
    way around the call, and the caller's context; but the result comes back in two turns
    of the loop instead of three.

    asgiref returns through run_in_executor and asyncio.shield: the thread's result is copied
    into a future in one turn, handed to the shield's outer future in the next, and the
    caller goes on in a third. At 60 answers on one process a turn of the loop takes a few
    milliseconds, and every send waits for two such calls before its answer is shown.

    Inside an HTTP request (Django gives each its own thread: a ThreadSensitiveContext), or
    under async_to_sync, asgiref's choice of thread is kept: database_sync_to_async.
    """
    loop = asyncio.get_running_loop()
    if (getattr(AsyncToSync.executors, "current", None) is not None
            or SyncToAsync.thread_sensitive_context.get(None) is not None
            or loop in AsyncToSync.loop_thread_executors):
        return await database_sync_to_async(func)(*args, **kwargs)
    done = loop.create_future()
    context = contextvars.copy_context()
    global _submitted
    _submitted += 1

    def run() -> None:
        global _started
        _started += 1
        result = error = None
        try:
            close_old_connections()
            result = context.run(func, *args, **kwargs)
        except BaseException as exc:  # (raised to the caller)
            error = exc
        finally:
            try:
                close_old_connections()
            except BaseException as exc:
                error = error or exc
        loop.call_soon_threadsafe(_settle, done, result, error)

    SyncToAsync.single_thread_executor.submit(run)
    return await done


# orm_calls handed to the ORM thread (counted on the loop) and begun (counted on the thread):
# each is written by one thread only.
_submitted = _started = 0


def others_wait() -> bool:
    """Whether other orm_calls wait for the ORM thread behind the one it runs."""
    return _submitted > _started


def _settle(done: asyncio.Future, result, error) -> None:
    if done.done():  # the caller was cancelled meanwhile (the call itself ran to its end)
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)
