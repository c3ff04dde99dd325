"""The async ORM thread keeps its pooled PostgreSQL connection between calls, and replaces
it once it goes bad (serving.connections)."""
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import OperationalError, connection, connections

from chat.tasks import detached
from serving.connections import give_back

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def pooled():
    if getattr(connection, "pool", None) is None:
        pytest.skip("PostgreSQL with its pool only (DATABASE_URL): the embedded SQLite has no pool")


@database_sync_to_async
def backend() -> int:
    """The server process behind this thread's connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@database_sync_to_async
def still_open() -> bool:
    """Whether the connection of the calls before is still there (database_sync_to_async
    closes old connections before and after each call)."""
    return connections["default"].connection is not None


@sync_to_async(thread_sensitive=False)
def elsewhere(sql: str, params: list) -> list:
    """A statement on a connection of another thread, closed after it."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        connection.close()


async def on_the_orm_thread(call):
    """As an answer calls: from a detached task, outside any request's thread."""
    return await detached(call())


async def test_calls_of_sockets_and_answers_keep_one_connection():
    first = await on_the_orm_thread(backend)
    stats = connection.pool.get_stats()
    assert await on_the_orm_thread(still_open)
    assert [await on_the_orm_thread(backend) for _ in range(5)] == [first] * 5
    # The pool was not asked again (each request was a round trip to check the connection).
    assert connection.pool.get_stats().get("requests_num", 0) == stats.get("requests_num", 0)
    give_back()


async def test_a_connection_the_server_dropped_is_replaced_after_the_call_that_met_it():
    doomed = await on_the_orm_thread(backend)
    await elsewhere("SELECT pg_terminate_backend(%s)", [doomed])
    with pytest.raises(OperationalError):
        await on_the_orm_thread(backend)
    replaced = await on_the_orm_thread(backend)
    assert replaced != doomed
    assert await on_the_orm_thread(backend) == replaced
    give_back()


async def test_a_connection_left_in_a_transaction_is_given_back():
    @database_sync_to_async
    def leave_a_transaction_open() -> int:
        connection.set_autocommit(False)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    left = await on_the_orm_thread(leave_a_transaction_open)
    assert not await on_the_orm_thread(still_open)  # closed after the call: back to the pool
    await on_the_orm_thread(backend)
    # Not left idle in its transaction: the pool rolled it back.
    assert await elsewhere("SELECT state FROM pg_stat_activity WHERE pid = %s", [left]) in ([], [("idle",)])
    give_back()
