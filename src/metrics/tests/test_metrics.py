"""/metrics after real answers (the loopback fake upstream, through the socket), and who
may read it."""
import re
import uuid

import pytest
from django.test import AsyncClient, Client

from chat.generation import wait_all
from chat.tests.ws import open_chat, until_done
from tests.fake_upstream import Scenario

pytestmark = pytest.mark.django_db(transaction=True)


def sample(text: str, name: str, **labels) -> float:
    """One sample's value from the exposition text (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    pattern = rf"^{re.escape(name)}(\{{{re.escape(wanted)}\}})? (\S+)$" if labels else rf"^{re.escape(name)} (\S+)$"
    for line in text.splitlines():
        match = re.match(pattern, line)
        if match:
            return float(match.groups()[-1])
    return 0.0


async def scrape(**headers) -> str:
    response = await AsyncClient(headers=headers).get("/metrics")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


async def ask(cookie, content="Hello?"):
    socket, _ = await open_chat(cookie, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": content, "client_id": uuid.uuid4().hex})
    frames = await until_done(socket)
    return socket, frames


async def test_answers_tokens_and_latency_after_real_answers(chat_layer, llm, alice, settings):
    before = await scrape()
    words = [f" w{n}" for n in range(40)]
    llm.enqueue(Scenario(content=words, delay=0.005), Scenario(status=500, error_message="boom"))
    socket, frames = await ask(alice)
    assert frames[-1]["message"]["status"] == "complete"
    socket2, frames2 = await ask(alice, "Again?")
    assert frames2[-1]["message"]["status"] == "error"
    await wait_all()
    during = await scrape()
    assert sample(during, "chat_sockets_open") == 2
    await socket.disconnect()
    await socket2.disconnect()
    after = await scrape()

    def grew(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("chat_answers_started_total") == 2
    assert grew("chat_answers_ended_total", status="complete") == 1
    assert grew("chat_answers_ended_total", status="error") == 1
    assert grew("chat_upstream_errors_total", kind="http") == 1
    assert grew("chat_tokens_streamed_total") == 40
    assert grew("chat_time_to_first_token_seconds_count") == 1
    assert 0 < grew("chat_time_to_first_token_seconds_sum") < 5
    deltas = sum(1 for f in frames if f["type"] == "message.delta")
    assert grew("chat_relay_delay_seconds_count") == deltas
    assert grew("chat_relay_delay_seconds_bucket", le="+Inf") == deltas
    assert sample(after, "chat_answers_running") == 0
    assert sample(after, "chat_sockets_open") == 0


async def test_a_running_answer_is_counted(chat_layer, llm, alice):
    llm.enqueue(Scenario(content=[f" w{n}" for n in range(100)], delay=0.02))
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": "Long?"})
    while (await socket.receive_json_from(timeout=5))["type"] != "message.delta":
        pass
    assert sample(await scrape(), "chat_answers_running") == 1
    await socket.send_json_to({"type": "generation.stop"})
    frames = await until_done(socket)
    assert frames[-1]["message"]["status"] == "stopped"
    await wait_all()
    assert sample(await scrape(), "chat_answers_running") == 0
    await socket.disconnect()


def test_not_public(settings):
    # The test client's REMOTE_ADDR is 127.0.0.1: loopback, direct.
    assert Client().get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.0.0.7").get("/metrics").status_code == 404
    assert Client(headers={"X-Forwarded-For": "203.0.113.9"}).get("/metrics").status_code == 404
    assert Client(headers={"X-Real-IP": "203.0.113.9"}).get("/metrics").status_code == 404

    settings.METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 404  # a token is set: loopback is not enough
    remote = Client(REMOTE_ADDR="10.0.0.7", headers={"Authorization": "Bearer s3cret-token"})
    assert remote.get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="10.0.0.7", headers={"Authorization": "Bearer wrong"}).get("/metrics").status_code == 404

    settings.METRICS_TOKEN = ""
    settings.METRICS_ENABLED = False
    assert Client().get("/metrics").status_code == 404


async def test_quota_refusals_are_counted(chat_layer, llm, alice, settings, monkeypatch):
    from usage import quotas

    monkeypatch.setattr(quotas, "_memory", quotas.MemoryCounters())
    monkeypatch.setattr(quotas, "_limits_cache", {})
    settings.QUOTA_DAILY_MESSAGES = 1
    before = sample(await scrape(), "chat_quota_refusals_total", kind="messages", period="day")
    socket, frames = await ask(alice, "One")
    await socket.send_json_to({"type": "message.send", "content": "Two"})
    refused = await socket.receive_json_from(timeout=5)
    assert refused["code"] == "quota_exceeded"
    await socket.disconnect()
    after = sample(await scrape(), "chat_quota_refusals_total", kind="messages", period="day")
    assert after - before == 1
