"""Root fixtures: users, logged-in sessions, the channel layer (memory or Redis), the upstream."""
import os
import uuid

import pytest
from django.test import Client

pytest_plugins = ["tests.fixtures_upstream"]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}


def pytest_addoption(parser):
    parser.addoption(
        "--database-pass", action="store_true",
        help="the suite again on a second database (bin/test's PostgreSQL pass): run only what "
             "the database can change, the tests that use it and the multi-process ones",
    )


def pytest_collection_modifyitems(config, items):
    """On --database-pass, leave out what the first pass already ran the same way.

    A test without database access cannot differ on another database (pytest-django refuses
    it any), and with Redis answering, a test's in-memory-layer variant adds nothing to its
    Redis twin but the minutes: PostgreSQL + Redis is the deployed shape.
    """
    if not config.getoption("database_pass"):
        return
    memory_twins_too = not redis_available()  # without Redis they are this pass's only variant
    kept, left_out = [], []
    for item in items:
        uses_database = (
            item.get_closest_marker("django_db") is not None
            or item.get_closest_marker("e2e") is not None
            or not DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
        )
        callspec = getattr(item, "callspec", None)
        memory_twin = callspec is not None and callspec.params.get("chat_layer") == "memory"
        (kept if uses_database and (memory_twins_too or not memory_twin) else left_out).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def _flush_postgresql_by_delete() -> None:
    """Empty the tables after a `transaction=True` test by DELETE, not Django's TRUNCATE.

    TRUNCATE makes new files for every table and index: 300-400 ms per test on PostgreSQL,
    40 % of that pass. DELETE of a test's few rows takes a third of it. Django's foreign keys
    there are deferred, so the order of the tables does not matter.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences:  # only TRUNCATE resets them
            return truncate(self, style, tables, reset_sequences=True, allow_cascade=allow_cascade)
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};" for table in tables]

    DatabaseOperations.sql_flush = sql_flush


_flush_postgresql_by_delete()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, and then the async ORM thread's kept connection goes back to the pool
    before the test database is dropped (serving.connections)."""
    yield
    from serving.connections import give_back

    give_back()


@pytest.fixture(autouse=True)
def _connections_closed_as_in_production():
    """Undo what channels' test communicators leave behind.

    ApplicationCommunicator patches channels.db.close_old_connections with a no-op around
    each send_input/receive_output; two sockets of one test overlap those patches, and the
    one that exits last puts back the no-op it found. From then on no database_sync_to_async
    of the run closed or replaced a connection (the ORM thread's stayed open, and PostgreSQL
    refused to drop the test database at the end). Each test starts with Django's own.
    """
    import channels.db
    from django.db import close_old_connections

    channels.db.close_old_connections = close_old_connections


@pytest.fixture(autouse=True)
def _nothing_recalled():
    """Each test starts with a process that remembers no conversation (chat.recall): user
    ids of one test's database come back in the next."""
    from chat import recall

    recall.clear()
    yield
    recall.clear()


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def session_cookie():
    """A factory: the `sessionid` cookie value of a fresh login for a user."""

    def login(user) -> str:
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    return login


@pytest.fixture
def alice(user, session_cookie):
    """Alice's session cookie (socket and SSE tests log in as a browser does)."""
    return session_cookie(user)


@pytest.fixture
def bob(other_user, session_cookie):
    return session_cookie(other_user)


@pytest.fixture(params=["memory", "redis"])
def chat_layer(request, settings):
    """Run a test on the in-process layer and on Redis (skipped, saying so, without Redis)."""
    if request.param == "redis":
        if not redis_available():
            pytest.skip(f"Redis not reachable at {REDIS_URL}: Redis-layer variant skipped")
        prefix = f"test-{uuid.uuid4().hex[:8]}"
        settings.REDIS_URL = REDIS_URL
        settings.CHAT_REDIS_PREFIX = prefix
        settings.CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "chat.layers.ReliableRedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": prefix, "capacity": 1000, "expiry": 60},
            }
        }
    else:
        settings.REDIS_URL = ""
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
        }
    return request.param


@pytest.fixture
def llm(settings, upstream):
    """Point the app at the fake OpenAI-compatible upstream on loopback."""
    settings.LLM_PROVIDER = "openai"
    settings.LLM_BASE_URL = upstream.base_url
    settings.LLM_API_KEY = "test-key"
    settings.LLM_MODEL = "fake-model"
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT = 2.0
    settings.LLM_EXTRA_BODY = None
    return upstream
