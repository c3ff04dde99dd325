"""The drain a SIGTERM starts (serving.drain), in process: answers shorter than
CHAT_DRAIN_SECONDS finish, longer ones are stored `interrupted` with their text, no new one
starts, and then the process is stopped. The signal, sockets and nginx: tests/e2e/test_drain.py."""
import asyncio
import logging
import uuid

import pytest
from channels.db import database_sync_to_async

from chat import generation
from chat.models import Message
from chat.tests.ws import frames_until, open_chat, send_frame
from serving import drain
from tests.fake_upstream import Scenario

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = " ".join(f"word{n}" for n in range(60))


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    """Each test drains a process that was not draining; restored after it."""
    monkeypatch.setattr(drain, "_draining", False)
    monkeypatch.setattr(drain, "_task", None)
    monkeypatch.setattr(generation, "_accepting", True)


@pytest.fixture
def alice(user, session_cookie):
    return session_cookie(user)


async def answer_running(alice) -> uuid.UUID:
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("Write"))
    await frames_until(socket, lambda f: f["type"] == "message.delta")
    await socket.disconnect()  # answers do not depend on sockets
    return cid


@database_sync_to_async  # closes the ORM thread's connection after it (a bare aget() left it open)
def stored(cid) -> Message:
    return Message.objects.get(conversation_id=cid, role="assistant")


async def test_answers_within_the_drain_time_finish_then_the_process_stops(settings, llm, alice):
    settings.CHAT_DRAIN_SECONDS = 30
    llm.enqueue(Scenario.words(WORDS, delay=0.01))
    cid = await answer_running(alice)
    stopped = []
    await drain.drain(stop=lambda: stopped.append((generation.running_count(), generation.accepting())))
    answer = await stored(cid)
    assert (answer.status, answer.content) == ("complete", WORDS)
    assert stopped == [(0, False)]


async def test_answers_past_the_drain_time_are_stored_interrupted_with_their_text(settings, llm, alice):
    settings.CHAT_DRAIN_SECONDS = 0.3
    llm.enqueue(Scenario.words(WORDS, delay=0.1))  # 6 s
    cid = await answer_running(alice)
    stopped = []
    await drain.drain(stop=lambda: stopped.append(generation.running_count()))
    answer = await stored(cid)
    assert answer.status == "interrupted" and answer.content and WORDS.startswith(answer.content)
    assert answer.content != WORDS and stopped == [0]
    assert await llm.async_wait_for_client_close(timeout=1.0)


async def test_a_second_sigterm_changes_nothing(monkeypatch, caplog):
    started = []

    async def fake_drain():
        started.append(True)

    monkeypatch.setattr(drain, "drain", fake_drain)
    with caplog.at_level(logging.WARNING, logger="serving.drain"):
        drain.begin()
        drain.begin()
        await asyncio.sleep(0)
    assert drain.draining() and started == [True]
    assert "still draining" in caplog.text


async def test_a_failing_drain_still_stops_the_process(monkeypatch, caplog):
    def broken():
        raise RuntimeError("no live state")

    monkeypatch.setattr(generation, "stop_accepting", broken)
    stopped = []
    await drain.drain(stop=lambda: stopped.append(True))
    assert stopped == [True] and "draining failed" in caplog.text
