"""Heartbeats: an answer that publishes nothing for a while still shows it is alive, and a
beat never brings back an answer that has ended (chat.beats)."""
import asyncio
import time
import uuid

import pytest

from chat import fanout
from chat.state import beat_with, get_store
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
    first = await _live(delta["message_id"], 1)  # beaten by the frame's publishing
    await asyncio.sleep(1.3)  # no frame meanwhile: the model says nothing
    later = await store.get(delta["message_id"])
    assert later.seq == first.seq == 1
    assert later.beat - first.beat >= 0.4, "no beat while the answer published nothing"
    await socket.send_json_to({"type": "generation.stop"})
    done = (await until_done(socket))[-1]["message"]
    assert (done["status"], done["content"]) == ("stopped", "one")
    await socket.disconnect()


async def test_a_beat_does_not_bring_back_an_answer_that_ended(chat_layer, settings):
    store, ended, running = get_store(), str(uuid.uuid4()), str(uuid.uuid4())
    await fanout.start_live(ended)
    await fanout.start_live(running)
    await store.drop(ended)
    if chat_layer == "redis":  # beaten from a thread (chat.beats.BeatThread)
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        await asyncio.to_thread(beat_with(client), [ended, running])
        client.close()
    else:
        await store.beat([ended, running])
    assert await store.get(ended) is None
    assert (await store.get(running)).seq == 0
    assert ended not in await store.stale(-60)  # not back in the index of running answers
    assert running in await store.stale(-60)
    await store.drop(running)


async def _quiet_answer(llm, alice):
    """A socket whose answer published one delta and now waits on its model."""
    llm.enqueue(Scenario.words("one two three", hang_after=1))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to({"type": "message.send", "content": "Hello?"})
    delta = (await frames_until(socket, lambda f: f["type"] == "message.delta"))[-1]
    await _live(delta["message_id"], 1)
    return socket, cid, delta["message_id"]


async def _live(answer_id: str, seq: int):
    """The answer's live state once it holds `seq`: with Redis a socket of the process that
    runs the answer gets a delta before Redis holds its text (chat.fanout)."""
    async with asyncio.timeout(5):
        while (live := await get_store().get(answer_id)) is None or live.seq < seq:
            await asyncio.sleep(0.01)
    return live


async def _stop(socket):
    await socket.send_json_to({"type": "generation.stop"})
    done = (await until_done(socket))[-1]["message"]
    await socket.disconnect()
    return done


async def test_a_saturated_loop_keeps_its_answers_alive(chat_layer, settings, llm, alice):
    """With Redis the beats come from a thread: a loop that answers seconds late (more
    answers than one process can serve) is not taken for dead by another process's reaper."""
    if chat_layer != "redis":
        pytest.skip("beats come from a thread with Redis only")
    settings.LLM_IDLE_TIMEOUT = settings.LLM_TIMEOUT = 30.0
    settings.CHAT_STALE_AFTER = 1.2
    socket, _, answer_id = await _quiet_answer(llm, alice)
    time.sleep(2.5)  # the loop does not turn: a saturated process, as far as beats go
    live = await get_store().get(answer_id)
    assert time.time() - live.beat < 1.2, "no beat while the loop was busy"
    assert answer_id not in await get_store().stale(settings.CHAT_STALE_AFTER)  # what reapers ask
    assert (await _stop(socket))["status"] == "stopped"


async def test_a_stuck_loop_lets_its_answers_beats_go_stale(chat_layer, settings, llm, alice, monkeypatch):
    """The thread beats only while the loop turns: a loop stuck beyond LOOP_STUCK_AFTER is
    not kept alive by it, so its answers are reaped."""
    from chat import beats

    if chat_layer != "redis":
        pytest.skip("beats come from a thread with Redis only")
    settings.LLM_IDLE_TIMEOUT = settings.LLM_TIMEOUT = 30.0
    monkeypatch.setattr(beats, "LOOP_STUCK_AFTER", 0.8)
    socket, _, answer_id = await _quiet_answer(llm, alice)
    time.sleep(2.5)
    assert time.time() - (await get_store().get(answer_id)).beat > 1.5
    await _stop(socket)


async def test_an_answer_running_here_is_never_taken_for_an_orphan(chat_layer, settings, llm, alice):
    """However late its beat (here: every beat counts as stale), an answer this process runs
    is alive: a snapshot or a send in its conversation does not store it `interrupted`."""
    settings.LLM_IDLE_TIMEOUT = settings.LLM_TIMEOUT = 30.0
    socket, cid, _ = await _quiet_answer(llm, alice)
    settings.CHAT_STALE_AFTER = 0.0
    other, snapshot = await open_chat(alice, cid)
    streaming = [m for m in snapshot["messages"] if m["role"] == "assistant"]
    assert [m["status"] for m in streaming] == ["streaming"]
    await other.send_json_to({"type": "message.send", "content": "Again?"})
    refused = (await frames_until(other, lambda f: f["type"] == "error"))[-1]
    assert refused["code"] == "busy"
    settings.CHAT_STALE_AFTER = 6.0
    done = await _stop(socket)
    assert (done["status"], done["content"]) == ("stopped", "one")
    await other.disconnect()


async def test_an_answer_keeps_beating_until_its_final_save_is_done(chat_layer, settings, llm, alice, monkeypatch):
    """On a saturated process the final save may wait seconds for the ORM thread: the
    answer is beaten until its row is final, or another process's reaper interrupts it."""
    from chat import services

    if chat_layer != "redis":
        pytest.skip("the reapers of other processes run with Redis only")
    settings.CHAT_STALE_AFTER = 1.2
    finish = services.answer_finish

    def slowly(**kwargs):
        time.sleep(2.5)  # the ORM thread's queue on a saturated process
        return finish(**kwargs)

    monkeypatch.setattr(services, "answer_finish", slowly)
    llm.enqueue(Scenario.words("one two three"))
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": "Hello?"})
    answer_id = (await frames_until(socket, lambda f: f["type"] == "message.delta"))[-1]["message_id"]
    await asyncio.sleep(2.0)  # the final save is under way
    assert answer_id not in await get_store().stale(settings.CHAT_STALE_AFTER)  # what reapers ask
    done = (await until_done(socket))[-1]["message"]
    assert (done["status"], done["content"]) == ("complete", "one two three")
    await socket.disconnect()


async def test_an_answer_is_beaten_while_its_stop_listener_subscribes(chat_layer, settings, llm, alice, monkeypatch):
    """On a saturated process Redis confirms a subscription only after every message the
    subscriber has yet to read (a process's first answer waits for its stop groups' pattern):
    the answer, its live state started, is beaten meanwhile."""
    if chat_layer != "redis":
        pytest.skip("the reapers of other processes run with Redis only")
    settings.CHAT_STALE_AFTER = 1.2
    subscribe, started = fanout.subscribe, []
    start = fanout.start_live

    async def noting(message_id):
        await start(message_id)
        started.append(message_id)

    async def slowly(group, handler):
        if group.startswith(fanout.STOP_GROUPS):
            await asyncio.sleep(2.5)  # behind the subscriber's backlog
        return await subscribe(group, handler)

    monkeypatch.setattr(fanout, "start_live", noting)
    monkeypatch.setattr(fanout, "subscribe", slowly)
    llm.enqueue(Scenario.words("one two three"))
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": "Hello?"})
    await asyncio.sleep(2.0)
    assert started and started[0] not in await get_store().stale(settings.CHAT_STALE_AFTER)
    done = (await until_done(socket))[-1]["message"]
    assert (done["status"], done["content"]) == ("complete", "one two three")
    await socket.disconnect()
