"""Heartbeats: an answer that publishes nothing for a while still shows it is alive, and a
beat never brings back an answer that has ended (chat.beats)."""
import asyncio
import uuid

import pytest

from chat.state import get_store
from tests.fake_upstream import Scenario

from .ws import frames_until, open_chat, until_done

pytestmark = pytest.mark.django_db(transaction=True)


async def test_an_answer_waiting_on_its_model_keeps_beating(chat_layer, settings, llm, alice):
    settings.LLM_IDLE_TIMEOUT = 30.0
    llm.enqueue(Scenario.words("one two three", hang_after=1))
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": "Hello?"})
    delta = (await frames_until(socket, lambda f: f["type"] == "message.delta"))[-1]
    store = get_store()
    first = await store.get(delta["message_id"])  # beaten by the frame's publishing
    await asyncio.sleep(1.3)  # no frame meanwhile: the model says nothing
    later = await store.get(delta["message_id"])
    assert later.seq == first.seq == 1
    assert later.beat - first.beat >= 0.4, "no beat while the answer published nothing"
    await socket.send_json_to({"type": "generation.stop"})
    done = (await until_done(socket))[-1]["message"]
    assert (done["status"], done["content"]) == ("stopped", "one")
    await socket.disconnect()


async def test_a_beat_does_not_bring_back_an_answer_that_ended(chat_layer):
    store, ended, running = get_store(), str(uuid.uuid4()), str(uuid.uuid4())
    await store.start(ended)
    await store.start(running)
    await store.drop(ended)
    await store.beat([ended, running])
    assert await store.get(ended) is None
    assert (await store.get(running)).seq == 0
    assert ended not in await store.stale(-60)  # not back in the index of running answers
    assert running in await store.stale(-60)
    await store.drop(running)
