"""What one user can take of the server: answers running at once, sockets per process.

Before the caps, one user opened 200 sockets, started 200 answers, and another user's
simple chat took 12.8 s instead of 0.08 s.
"""
import asyncio
import uuid

import pytest

from chat import consumers
from chat.models import Message
from tests.fake_upstream import Scenario

from .test_api_sse import send as sse_send
from .ws import connect, open_chat, send_frame, until_done

pytestmark = pytest.mark.django_db(transaction=True)

LONG = " ".join(f"word{n}" for n in range(300))


async def first_reply(socket) -> dict:
    """The first frame that says how a send went: an error, or the answer's creation."""
    while True:
        frame = await socket.receive_json_from(timeout=10)
        if frame["type"] == "error" or (frame["type"] == "message.created"
                                        and frame["message"]["role"] == "assistant"):
            return frame


async def test_running_answers_per_user_are_capped(chat_layer, settings, llm, alice, bob):
    settings.CHAT_MAX_ANSWERS_PER_USER = 2
    llm.enqueue(*[Scenario.words(LONG, delay=0.01) for _ in range(2)])
    sockets = [(await open_chat(alice, uuid.uuid4()))[0] for _ in range(3)]
    for socket in sockets[:2]:
        await socket.send_json_to(send_frame())
        assert (await first_reply(socket))["type"] == "message.created"
    await sockets[2].send_json_to(send_frame("one too many", client_id="c-3"))
    refused = await first_reply(sockets[2])
    assert refused["type"] == "error"
    assert (refused["code"], refused["client_id"]) == ("too_many_answers", "c-3")
    assert "2 answers" in refused["message"]
    assert not await Message.objects.filter(content="one too many").aexists()
    assert len(llm.requests) == 2  # no request was asked early (sending.Guess) to be closed
    # Another user is not limited by alice's answers.
    other, _ = await open_chat(bob, uuid.uuid4())
    await other.send_json_to(send_frame("bob's turn"))
    assert (await until_done(other))[-1]["message"]["status"] == "complete"
    # Stopping one frees a slot.
    await sockets[0].send_json_to({"type": "generation.stop"})
    await until_done(sockets[0])
    await sockets[2].send_json_to(send_frame("now there is room"))
    assert (await first_reply(sockets[2]))["type"] == "message.created"
    for socket in sockets:
        await socket.send_json_to({"type": "generation.stop"})
    for socket in [*sockets, other]:
        await socket.disconnect()


async def test_parallel_sends_cannot_race_past_the_cap(chat_layer, settings, llm, alice):
    settings.CHAT_MAX_ANSWERS_PER_USER = 2
    llm.enqueue(*[Scenario.words(LONG, delay=0.01) for _ in range(6)])
    sockets = [(await open_chat(alice, uuid.uuid4()))[0] for _ in range(6)]
    await asyncio.gather(*(s.send_json_to(send_frame()) for s in sockets))
    replies = await asyncio.gather(*(first_reply(s) for s in sockets))
    started = [r for r in replies if r["type"] == "message.created"]
    refused = [r for r in replies if r["type"] == "error"]
    assert len(started) == 2, replies
    assert {r["code"] for r in refused} == {"too_many_answers"}
    assert await Message.objects.filter(role="user").acount() == 2
    for socket in sockets:
        await socket.send_json_to({"type": "generation.stop"})
    for socket in sockets:
        await socket.disconnect()


async def test_the_cap_is_a_429_over_sse(settings, llm, alice):
    settings.CHAT_MAX_ANSWERS_PER_USER = 1
    llm.enqueue(Scenario.words(LONG, delay=0.01))
    running, _ = await open_chat(alice, uuid.uuid4())
    await running.send_json_to(send_frame())
    assert (await first_reply(running))["type"] == "message.created"
    refused = await sse_send(uuid.uuid4(), alice, "over SSE")
    assert refused.status == 429
    body = await refused.json()
    assert body["error"]["code"] == "too_many_answers"
    await running.send_json_to({"type": "generation.stop"})
    await until_done(running)
    await running.disconnect()


async def test_sockets_per_user_are_capped_per_process(settings, alice, bob):
    settings.CHAT_MAX_SOCKETS_PER_USER = 3
    consumers._sockets_per_user.clear()  # other tests' sockets are not always disconnected
    cid = uuid.uuid4()
    kept = [(await open_chat(alice, cid))[0] for _ in range(3)]
    extra = await connect(f"/ws/chat/{cid}/", alice)
    assert await extra.receive_output(timeout=5) == {"type": "websocket.close", "code": 4029}
    # bob has sockets of his own.
    bobs, _ = await open_chat(bob, uuid.uuid4())
    # Closing one of alice's frees its place.
    await kept.pop().disconnect()
    await asyncio.sleep(0.05)
    again, snapshot = await open_chat(alice, cid)
    assert snapshot["type"] == "conversation.snapshot"
    for socket in [*kept, again, bobs]:
        await socket.disconnect()


async def test_partial_text_of_running_answers_is_saved_in_batches(chat_layer, settings, llm, alice, monkeypatch):
    from chat import services

    settings.CHAT_SAVE_INTERVAL = 0.2
    calls = []
    original = services.answers_save_partial
    monkeypatch.setattr(services, "answers_save_partial", lambda *, rows: (calls.append(len(rows)), original(rows=rows)))
    llm.enqueue(*[Scenario.words(LONG, delay=0.01) for _ in range(3)])
    sockets = [(await open_chat(alice, uuid.uuid4()))[0] for _ in range(3)]
    for socket in sockets:
        await socket.send_json_to(send_frame())
        assert (await first_reply(socket))["type"] == "message.created"
    await asyncio.sleep(1.0)
    assert max(calls) == 3, calls  # one statement carried all three answers
    partial = [m async for m in Message.objects.filter(role="assistant", status="streaming")]
    assert len(partial) == 3 and all(m.content and LONG.startswith(m.content) for m in partial)
    for socket in sockets:
        await socket.send_json_to({"type": "generation.stop"})
        await until_done(socket)
        await socket.disconnect()
