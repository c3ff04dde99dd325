"""Fixtures for the multi-process tests: a throwaway PostgreSQL database, Redis, Daphne processes.

Everything here is created for the session and removed after it: the database
`chat_e2e_<random>` (dropped), the Redis keys (a random CHAT_REDIS_PREFIX), the processes
(killed in finalizers even when a test fails). The DATABASE_URL the rest of the suite
uses plays no part.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from .servers import PASSWORD, Server, base_env, login, manage

PG_ADMIN_URL = os.environ.get("E2E_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
USERNAME = "e2e-alice"


def pytest_configure(config):
    config.addinivalue_line("markers", "e2e: real Daphne processes sharing PostgreSQL and Redis")


def _unreachable() -> str | None:
    """Why the e2e tests cannot run here, or None."""
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=2).close()
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}); set E2E_POSTGRES_URL"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}); set TEST_REDIS_URL"
    return None


def _db_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def e2e_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database with one user; dropped at the end."""
    reason = _unreachable()
    if reason:
        print(f"\nmulti-process e2e tests SKIPPED: {reason}")
        pytest.skip(f"multi-process e2e tests skipped: {reason}")
    import psycopg

    name = f"chat_e2e_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _db_url(name)
    try:
        env = base_env(DATABASE_URL=url, DJANGO_SUPERUSER_PASSWORD=PASSWORD)
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "createsuperuser", "--noinput", "--username", USERNAME, "--email", "e2e@example.com")
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    yield prefix
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(scope="session")
def launch(e2e_database, redis_prefix, fake_upstream, tmp_path_factory) -> Iterator[Callable[..., Server]]:
    """Start a Daphne process (not yet waited for); every one is killed at the end.

    `redis=False` runs it on the in-process layer; keyword arguments override its environment
    (None removes a variable).
    """
    started: list[Server] = []
    log_dir = tmp_path_factory.mktemp("daphne-logs")

    def start(name: str, *, redis: bool = True, **env: str | None) -> Server:
        environment = base_env(**{
            "DATABASE_URL": e2e_database,
            "REDIS_URL": REDIS_URL if redis else None,
            "CHAT_REDIS_PREFIX": redis_prefix,
            "LLM_BASE_URL": fake_upstream.base_url,
            **env,
        })
        server = Server(name, environment, log_dir)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.kill()


@pytest.fixture(scope="module")
def pair(launch) -> tuple[Server, Server]:
    """Processes A and B on the same PostgreSQL database and Redis."""
    a, b = launch("A"), launch("B")
    a.wait_ready()
    b.wait_ready()
    return a, b


@pytest.fixture(scope="module")
def session_id(pair) -> str:
    """A session cookie from a login over HTTP on A (sessions live in the shared database)."""
    return login(pair[0], USERNAME)
