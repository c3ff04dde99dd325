"""Liveness (/healthz, the contract's) and readiness (/readyz) told apart: a draining process
is alive but not ready; both say 503 when the database or the channel layer is down."""
import pytest
from django.conf import settings

from serving import drain

# The views' database_sync_to_async closes the connection: a rollback-only test DB can't survive that.
pytestmark = pytest.mark.django_db(transaction=True)

LAYER_DOWN = {"default": {
    "BACKEND": "chat.layers.ReliableRedisChannelLayer",
    "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
}}


@pytest.fixture
def draining(monkeypatch):
    monkeypatch.setattr(drain, "_draining", True)  # restored after the test


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_healthz_503_when_the_channel_layer_is_down(client, settings):
    settings.CHANNEL_LAYERS = LAYER_DOWN
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"
    assert response.json()["checks"] == {"database": True, "channel_layer": False}


def test_readyz_names_the_process_and_what_it_holds(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    # No Daphne server here (the test client), so no socket count.
    assert response.json() == {"status": "ready", "process": settings.CHAT_PROCESS_NAME, "answers": 0,
                               "sockets": None}


def test_a_draining_process_is_alive_but_not_ready(client, draining):
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "draining" and response.json()["process"] == settings.CHAT_PROCESS_NAME


def test_readyz_503_when_the_channel_layer_is_down(client, settings):
    settings.CHANNEL_LAYERS = LAYER_DOWN
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"] == {"database": True, "channel_layer": False}
