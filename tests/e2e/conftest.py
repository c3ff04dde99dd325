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
from dataclasses import dataclass

import pytest

from .proxy import Nginx, nginx_binary
from .servers import PASSWORD, Server, base_env, login, manage

PG_ADMIN_URL = os.environ.get("E2E_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
USERNAME = "e2e-alice"
DRAIN_SECONDS = 20  # CHAT_DRAIN_SECONDS of the processes behind nginx


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


# --- nginx in front of several processes (tests/e2e/proxy.py) -----------------------------
@dataclass
class Cluster:
    """nginx in front of Daphne processes that share PostgreSQL and Redis, as compose runs them."""

    nginx: Nginx
    servers: list[Server]
    session: str

    def up(self) -> None:
        """Start again whichever process a test stopped, on its own port (as a restart does)."""
        for server in self.servers:
            if server.process.poll() is not None:
                server.start()
        for server in self.servers:
            server.wait_ready()

    def running(self) -> dict[str, int]:
        """Answers running on each process, by name (from /readyz)."""
        return {server.name: (server.readiness() or {}).get("answers", 0) for server in self.servers}

    def by_name(self, name: str) -> Server:
        return next(server for server in self.servers if server.name == name)


@pytest.fixture(scope="module")
def cluster(launch, tmp_path_factory) -> Iterator[Cluster]:
    """nginx (the repo's configuration) in front of Daphne processes A, B and C."""
    if nginx_binary() is None:
        print("\nnginx tests SKIPPED: nginx is not installed (bin/test installs it as root on Debian)")
        pytest.skip("nginx is not installed: apt-get install nginx (bin/test does, as root on Debian)")
    env = dict(DJANGO_TRUSTED_PROXIES="127.0.0.1", CHAT_DRAIN_SECONDS=str(DRAIN_SECONDS),
               CHAT_MAX_ANSWERS_PER_USER="100", CHAT_MAX_SOCKETS_PER_USER="200")
    servers = [launch(name, CHAT_PROCESS_NAME=name, **env) for name in ("A", "B", "C")]
    for server in servers:
        server.wait_ready()
    nginx = Nginx(tmp_path_factory.mktemp("nginx"), [f"127.0.0.1:{s.port}" for s in servers]).start()
    try:
        yield Cluster(nginx, servers, login(servers[0], USERNAME))
    finally:
        nginx.stop()
