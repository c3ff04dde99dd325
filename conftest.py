"""Root fixtures: users, logged-in sessions, the channel layer (memory or Redis), the upstream."""
import os
import uuid

import pytest
from django.test import Client

pytest_plugins = ["tests.fixtures_upstream"]

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


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
