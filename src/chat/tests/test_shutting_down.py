"""A process that is shutting down (serving.drain drives this): it starts no new answer,
saying `unavailable`, and ends the answers it still runs `interrupted`, keeping their text."""
import uuid

import pytest
from channels.db import database_sync_to_async

from chat import generation, protocol, services
from chat.models import Message
from tests.fake_upstream import Scenario

from .test_api_sse import send
from .ws import deltas_text, frames_until, open_chat, send_frame, until_done

pytestmark = pytest.mark.django_db(transaction=True)

LONG = " ".join(f"word{n}" for n in range(300))


# Read through database_sync_to_async, which closes the ORM thread's connection after it
# (DATABASE_CONN_MAX_AGE=0 in tests): a bare async ORM call left it open, and PostgreSQL
# then refused to drop the test database at the end of the run.
@database_sync_to_async
def messages_of(cid) -> list[Message]:
    return list(Message.objects.filter(conversation_id=cid))


@pytest.fixture
def shutting_down(monkeypatch):
    monkeypatch.setattr(generation, "_accepting", False)  # restored after the test


async def test_a_send_over_the_socket_is_refused_unavailable_and_nothing_is_stored(llm, alice, shutting_down):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("Anyone?", client_id="c-1"))
    refused = await socket.receive_json_from(timeout=5)
    assert refused == {"type": "error", "code": protocol.UNAVAILABLE, "client_id": "c-1", "retry_after": 1,
                       "message": "This server is restarting; send the message again in a moment."}
    await socket.send_json_to({"type": "message.regenerate"})
    assert (await socket.receive_json_from(timeout=5))["code"] == protocol.UNAVAILABLE
    await socket.send_json_to({"type": "conversation.sync"})  # reading still works
    assert (await socket.receive_json_from(timeout=5))["type"] == "conversation.snapshot"
    await socket.disconnect()
    assert await messages_of(cid) == []
    assert llm.requests == []


async def test_a_send_over_http_is_refused_503_with_retry_after(llm, alice, shutting_down):
    cid = uuid.uuid4()
    response = await send(cid, alice, "Anyone?")
    assert response.status == 503 and response.headers["retry-after"] == "1"
    assert (await response.json())["error"]["code"] == "unavailable"
    assert await messages_of(cid) == []


async def test_interrupt_all_stores_running_answers_interrupted_with_their_text(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(LONG, delay=0.02))
    cid = uuid.uuid4()
    tab, _ = await open_chat(alice, cid)
    await tab.send_json_to(send_frame("A long one"))
    seen = await frames_until(tab, lambda f: f["type"] == "message.delta" and f["seq"] >= 3)
    assert await generation.interrupt_all(timeout=5) == 1
    seen += await until_done(tab, timeout=5)
    done = seen[-1]["message"]
    assert done["status"] == "interrupted" and done["error"] == services.INTERRUPTED_ERROR
    assert done["content"] == deltas_text(seen) and LONG.startswith(done["content"]) and done["content"] != LONG
    assert await llm.async_wait_for_client_close(timeout=1.0), "the upstream request was not closed"
    [stored] = [m for m in await messages_of(cid) if m.role == "assistant"]
    assert (stored.status, stored.content) == ("interrupted", done["content"])
    assert generation.running_count() == 0 and await generation.interrupt_all() == 0
    await tab.disconnect()


async def test_a_send_repeated_before_the_first_was_committed_is_a_repeat_not_busy(llm, alice, monkeypatch):
    """After a 1012 the client sends again on another process; the first send, still in its
    transaction on the draining one, may commit between that process's two looks."""
    from chat import selectors, sending

    llm.enqueue(Scenario.words(LONG, delay=0.02))
    cid = uuid.uuid4()
    first, _ = await open_chat(alice, cid)
    await first.send_json_to(send_frame("Once", client_id="k-1"))
    await frames_until(first, lambda f: f["type"] == "message.delta")
    looked = []
    earlier_send, send_look = sending._earlier_send, selectors.send_look

    def not_yet_committed_at_the_first_look(**kwargs):
        looked.append(kwargs)
        look = send_look(**kwargs)
        return look._replace(messages=[m for m in look.messages if m.client_id != "k-1"])

    def committed_at_the_second(**kwargs):
        looked.append(kwargs)
        return earlier_send(**kwargs)

    monkeypatch.setattr(selectors, "send_look", not_yet_committed_at_the_first_look)
    monkeypatch.setattr(sending, "_earlier_send", committed_at_the_second)
    again, _ = await open_chat(alice, cid)
    await again.send_json_to(send_frame("Once", client_id="k-1"))
    # The second tab listens to the conversation: the running answer's deltas may reach it
    # before the echo (often on PostgreSQL, where the send's two looks take longer).
    frames = await frames_until(again, lambda f: f["type"] in ("message.created", "error"))
    echoed = frames[-1]
    assert {f["type"] for f in frames[:-1]} <= {"message.delta"}
    assert echoed["type"] == "message.created" and echoed["message"]["client_id"] == "k-1"
    assert len(looked) == 2
    await again.send_json_to({"type": "generation.stop"})
    await until_done(first)
    for socket in (first, again):
        await socket.disconnect()
    assert len(await messages_of(cid)) == 2  # one question, one answer
