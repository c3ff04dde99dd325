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
"""
import threading

from asgiref.sync import SyncToAsync
from django.db import connections


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
