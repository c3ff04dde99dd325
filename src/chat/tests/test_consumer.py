"""The chat socket against the real ASGI stack, the real LangChain client and a fake upstream.

Tests that take `chat_layer` run twice: on the in-process layer and on Redis.
"""
import asyncio
import random
import time
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.models import Session
from django.db.models import F

from chat.models import Conversation, Message
from tests.fake_upstream import Scenario

from .ws import connect, deltas_text, frames_until, is_done, open_chat, replay, send_frame, until_done

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = " ".join(f"word{n}" for n in range(120))


# --- connecting ---------------------------------------------------------------------------
async def test_anonymous_socket_is_accepted_then_closed_4001():
    socket = await connect(f"/ws/chat/{uuid.uuid4()}/")
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}


async def test_foreign_origin_is_refused(alice):
    from channels.testing import WebsocketCommunicator

    from config.asgi import application

    socket = WebsocketCommunicator(application, f"/ws/chat/{uuid.uuid4()}/",
                                   headers=[(b"origin", b"http://evil.example"),
                                            (b"cookie", f"sessionid={alice}".encode())])
    connected, _ = await socket.connect(timeout=5)
    assert not connected


async def test_another_users_conversation_is_closed_4003(chat_layer, llm, alice, bob):
    cid = uuid.uuid4()
    socket, snapshot = await open_chat(alice, cid)
    assert snapshot == {"type": "conversation.snapshot", "conversation": None, "messages": []}
    await socket.send_json_to(send_frame())
    await until_done(socket)
    intruder = await connect(f"/ws/chat/{cid}/", bob)
    assert await intruder.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}
    await socket.disconnect()


async def test_conversation_taken_meanwhile_closes_4003(llm, alice, bob):
    cid = uuid.uuid4()
    bobs, _ = await open_chat(bob, cid)  # not created yet: allowed
    alices, _ = await open_chat(alice, cid)
    await alices.send_json_to(send_frame())
    await until_done(alices)
    await bobs.send_json_to(send_frame("mine now?"))
    # Not one frame of alice's conversation reached bob's socket before the close.
    assert await bobs.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}
    assert await Message.objects.filter(content="mine now?").acount() == 0


async def test_logout_closes_on_next_frame_4001(llm, alice):
    socket, _ = await open_chat(alice, uuid.uuid4())
    await Session.objects.all().adelete()
    await socket.send_json_to({"type": "conversation.sync"})
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}


async def test_frames_go_past_the_session_wrapper_which_the_socket_still_reads(llm, alice, monkeypatch):
    """The session wrapper of AuthMiddlewareStack only saves a session with an HTTP response:
    a socket's frames skip it, while its session still says who the socket is."""
    from channels.sessions import InstanceSessionWrapper

    wrapped = []
    send = InstanceSessionWrapper.send

    async def counted(self, message):
        wrapped.append(message["type"])
        return await send(self, message)

    monkeypatch.setattr(InstanceSessionWrapper, "send", counted)
    socket, snapshot = await open_chat(alice, uuid.uuid4())
    assert snapshot["type"] == "conversation.snapshot"  # (an anonymous socket gets 4001 instead)
    await socket.send_json_to(send_frame("Hello"))
    assert [f["type"] for f in await until_done(socket)][-1] == "message.done"
    await socket.disconnect()
    assert wrapped == []


# --- an answer's life --------------------------------------------------------------------------
async def test_answer_streams_fans_out_and_is_stored(chat_layer, settings, llm, alice):
    settings.LLM_PROVIDER = "deepseek"  # streams reasoning_content
    llm.enqueue(Scenario.words(WORDS, reasoning=["Let", " me", " think."], delay=0.001, usage=(11, 120)))
    cid = uuid.uuid4()
    first, _ = await open_chat(alice, cid)
    second, _ = await open_chat(alice, cid)
    await first.send_json_to(send_frame("Hello there", "c1"))
    frames = await until_done(first)
    assert [f["type"] for f in frames[:3]] == ["conversation.updated", "message.created", "message.created"]
    assert frames[0]["conversation"]["title"] == "Hello there"
    question, answer = frames[1]["message"], frames[2]["message"]
    assert (question["role"], question["content"], question["client_id"]) == ("user", "Hello there", "c1")
    assert (answer["role"], answer["status"], answer["parent_id"]) == ("assistant", "streaming", question["id"])
    deltas = [f for f in frames if f["type"] == "message.delta"]
    assert [d["seq"] for d in deltas] == list(range(1, len(deltas) + 1))
    assert deltas_text(frames, "reasoning") == "Let me think."
    done = frames[-1]["message"]
    assert done["content"] == WORDS == deltas_text(frames)
    assert (done["status"], done["seq"], done["usage"]) == ("complete", len(deltas),
                                                          {"input_tokens": 11, "output_tokens": 120})
    # Coalescing: far fewer frames than tokens, and no delta repeats the whole answer.
    assert len(deltas) < 123 and max(len(d["delta"]) for d in deltas) < len(WORDS)
    # The second tab saw exactly the same frames.
    assert await until_done(second) == frames
    stored = await Message.objects.aget(id=done["id"])
    assert (stored.content, stored.reasoning, stored.status, stored.input_tokens) == (
        WORDS, "Let me think.", "complete", 11)
    for socket in (first, second):
        await socket.disconnect()


async def test_answer_goes_on_without_any_socket(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(WORDS, delay=0.002))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame())
    await frames_until(socket, lambda f: f["type"] == "message.delta")
    await socket.disconnect()
    for _ in range(100):
        answer = await Message.objects.filter(conversation_id=cid, role="assistant").afirst()
        if answer.status != "streaming":
            break
        await asyncio.sleep(0.05)
    assert (answer.status, answer.content) == ("complete", WORDS)


async def test_stop_within_a_second_keeps_partial_text_and_closes_upstream(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(WORDS, delay=0.02))
    cid = uuid.uuid4()
    tab, _ = await open_chat(alice, cid)
    other_tab, _ = await open_chat(alice, cid)
    await tab.send_json_to(send_frame())
    await frames_until(tab, lambda f: f["type"] == "message.delta" and f["seq"] >= 3)
    started = time.monotonic()
    await other_tab.send_json_to({"type": "generation.stop"})  # from another socket
    frames = await until_done(tab, timeout=5)
    elapsed = time.monotonic() - started
    done = frames[-1]["message"]
    assert elapsed < 1.0
    assert done["status"] == "stopped"
    assert done["content"] and WORDS.startswith(done["content"]) and done["content"] != WORDS
    assert await llm.async_wait_for_client_close(timeout=1.0)
    stored = await Message.objects.aget(id=done["id"])
    assert (stored.status, stored.content) == ("stopped", done["content"])
    # The conversation is free again.
    await tab.send_json_to(send_frame("again"))
    assert (await until_done(tab))[-1]["message"]["status"] == "complete"
    for socket in (tab, other_tab):
        await socket.disconnect()


@pytest.mark.parametrize("seed", range(3))
async def test_reconnects_at_random_cut_points_lose_and_repeat_nothing(seed, chat_layer, settings, llm, alice):
    settings.LLM_PROVIDER = "deepseek"
    reasoning = [f"r{n} " for n in range(30)]
    llm.enqueue(Scenario.words(WORDS, reasoning=reasoning, delay=0.003))
    rng = random.Random(seed)
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame())
    created = await frames_until(socket, lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant")
    answer_id = created[-1]["message"]["id"]
    message, final, cuts = created[-1]["message"], None, 0
    while final is None:
        # Read a random number of frames, checking each against what the client holds...
        received = []
        for _ in range(rng.randint(0, 12)):
            received.append(await socket.receive_json_from(timeout=10))
            if is_done(received[-1]):
                final = received[-1]["message"]
                break
        message = {**message, **replay(message, received)}  # asserts no gap
        if final is not None:
            assert (message["content"], message["reasoning"]) == (final["content"], final["reasoning"])
            break
        # ...then drop the socket and come back later to a snapshot.
        await socket.disconnect()
        await asyncio.sleep(rng.random() * 0.05)
        socket, snapshot = await open_chat(alice, cid)
        cuts += 1
        message = next(m for m in snapshot["messages"] if m["id"] == answer_id)
        if message["status"] != "streaming":
            final = message
    assert final["content"] == WORDS and final["reasoning"] == "".join(reasoning)
    assert cuts >= 1
    await socket.disconnect()


async def test_sync_mid_answer_lines_up_with_live_deltas(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(WORDS, delay=0.004))
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to(send_frame())
    await frames_until(socket, lambda f: f["type"] == "message.delta" and f["seq"] >= 2)
    await socket.send_json_to({"type": "conversation.sync"})
    frames = await frames_until(socket, lambda f: f["type"] == "conversation.snapshot")
    snapshot = frames[-1]
    message = snapshot["messages"][-1]
    assert message["status"] == "streaming" and message["seq"] >= 2
    rest = await until_done(socket)
    assert replay(message, rest)["content"] == WORDS
    await socket.disconnect()


async def test_sync_while_frames_are_on_their_way_to_redis_lines_up_with_live_deltas(chat_layer, llm, alice):
    """The socket got a delta from memory before Redis held its text (chat.fanout): a sync
    then sends it again after the snapshot, which would otherwise end before it."""
    if chat_layer != "redis":
        pytest.skip("in memory the live state holds a frame before it is delivered")
    from chat import fanout

    hub = fanout.get_hub()
    send = hub._run_send

    async def slow(keys, args, **again):  # every script call takes 50 ms to reach Redis
        if not again:
            await asyncio.sleep(0.05)
        return await send(keys, args, **again)

    llm.enqueue(Scenario.words(WORDS, delay=0.004))
    socket, _ = await open_chat(alice, uuid.uuid4())
    hub._run_send = slow
    try:
        await socket.send_json_to(send_frame())
        frames = await frames_until(socket, lambda f: f["type"] == "message.delta" and f["seq"] >= 3)
        await socket.send_json_to({"type": "conversation.sync"})
        frames += await frames_until(socket, lambda f: f["type"] == "conversation.snapshot")
        message = frames[-1]["messages"][-1]
        assert message["status"] == "streaming"
        rest = await until_done(socket)
    finally:
        hub._run_send = send
    assert max(f["seq"] for f in frames if f["type"] == "message.delta") > message["seq"]  # Redis was behind
    assert replay(message, rest)["content"] == WORDS  # (asserts no gap)
    await socket.disconnect()


async def test_regenerate_keeps_the_earlier_answer(llm, alice):
    llm.enqueue(Scenario.words("first answer"), Scenario.words("second answer"))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("Q"))
    first = (await until_done(socket))[-1]["message"]
    await socket.send_json_to({"type": "message.regenerate"})
    frames = await until_done(socket)
    assert frames[0]["type"] == "message.created"
    second = frames[-1]["message"]
    assert second["parent_id"] == first["parent_id"] and second["id"] != first["id"]
    assert (first["content"], second["content"]) == ("first answer", "second answer")
    assert llm.requests[1]["messages"] == [{"role": "user", "content": "Q"}]
    assert await Message.objects.filter(conversation_id=cid).acount() == 3
    await socket.disconnect()


async def test_context_sent_upstream_is_built_from_the_database(settings, llm, alice):
    settings.CHAT_SYSTEM_PROMPT = "You are terse."
    settings.LLM_EXTRA_BODY = {"web_search": {"enabled": True}}
    llm.enqueue(Scenario.words("A1"), Scenario.words("A2"), Scenario.words("A3"))
    socket, _ = await open_chat(alice, uuid.uuid4())
    for question in ("Q1", "Q2", "Q3"):
        await socket.send_json_to(send_frame(question))
        await until_done(socket)
    assert llm.requests[2]["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"},
        {"role": "user", "content": "Q2"}, {"role": "assistant", "content": "A2"},
        {"role": "user", "content": "Q3"},
    ]
    assert llm.requests[2]["web_search"] == {"enabled": True}
    assert llm.requests[2]["model"] == "fake-model"
    await socket.disconnect()


# --- refusals ----------------------------------------------------------------------------------
async def expect_error(socket, code):
    frame = await socket.receive_json_from(timeout=5)
    assert frame["type"] == "error" and frame["code"] == code, frame
    assert frame["message"]
    return frame


async def test_every_error_code_keeps_the_socket_open_and_stores_nothing(chat_layer, settings, llm, alice):
    settings.CHAT_MAX_MESSAGE_CHARS = 20
    settings.CHAT_RATE_LIMIT = "2/m"
    llm.enqueue(Scenario.words(WORDS, delay=0.02))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_to(text_data="not json")
    await expect_error(socket, "bad_request")
    await socket.send_to(bytes_data=b"\x00")
    await expect_error(socket, "bad_request")
    await socket.send_json_to({"type": "message.send", "content": "x" * 21, "client_id": "long"})
    assert (await expect_error(socket, "too_long"))["client_id"] == "long"
    await socket.send_json_to({"type": "message.regenerate"})
    await expect_error(socket, "bad_request")  # nothing to answer yet
    await socket.send_json_to(send_frame("first", "c1"))
    await frames_until(socket, lambda f: f["type"] == "message.delta")
    await socket.send_json_to(send_frame("second", "c2"))
    frame = await frames_until(socket, lambda f: f["type"] == "error")
    assert frame[-1]["code"] == "busy" and frame[-1]["client_id"] == "c2"
    await socket.send_json_to({"type": "generation.stop"})
    await until_done(socket)
    await socket.send_json_to(send_frame("third", "c3"))
    limited = await expect_error(socket, "rate_limited")
    assert 0 < limited["retry_after"] <= 60 and limited["client_id"] == "c3"
    settings.CHAT_RATE_LIMIT = "100/m"
    settings.LLM_PROVIDER = "no-such-provider"
    await socket.send_json_to(send_frame("fourth", "c4"))
    await expect_error(socket, "internal")
    contents = [m.content async for m in Message.objects.filter(conversation_id=cid, role="user")]
    assert contents == ["first"]
    await socket.send_json_to({"type": "conversation.sync"})
    assert (await socket.receive_json_from(timeout=5))["type"] == "conversation.snapshot"
    await socket.disconnect()


async def test_sends_refused_before_storing_give_their_place_in_the_rate_limit_back(chat_layer, settings, llm,
                                                                                   alice):
    """The limit counts a send while its first hop reads; a send refused then (too long, a
    model not offered, busy, a repeat) is uncounted."""
    settings.CHAT_MAX_MESSAGE_CHARS = 20
    settings.CHAT_RATE_LIMIT = "2/m"
    llm.enqueue(Scenario.words(WORDS, delay=0.02))
    socket, _ = await open_chat(alice, uuid.uuid4())
    for _ in range(2):
        await socket.send_json_to({"type": "message.send", "content": "x" * 21})
        await expect_error(socket, "too_long")
        await socket.send_json_to({"type": "message.send", "content": "hi", "model": "no-such"})
        await expect_error(socket, "unknown_model")
    await socket.send_json_to(send_frame("first", "c1"))
    await frames_until(socket, lambda f: f["type"] == "message.delta")
    await socket.send_json_to(send_frame("second", "c2"))
    assert (await frames_until(socket, lambda f: f["type"] == "error"))[-1]["code"] == "busy"
    await socket.send_json_to({"type": "generation.stop"})
    await until_done(socket)
    await socket.send_json_to(send_frame("first", "c1"))  # a repeat
    assert (await socket.receive_json_from(timeout=5))["type"] == "message.created"
    await socket.send_json_to(send_frame("third", "c3"))
    await until_done(socket)
    await socket.send_json_to(send_frame("fourth", "c4"))
    await expect_error(socket, "rate_limited")
    await socket.disconnect()


async def test_repeated_client_id_stores_nothing_and_starts_nothing(chat_layer, llm, alice):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("once", "same"))
    first = await until_done(socket)
    await socket.send_json_to(send_frame("once", "same"))
    echo = await socket.receive_json_from(timeout=5)
    assert echo == first[1]  # the stored user message, to this socket only
    assert await socket.receive_nothing(timeout=0.3)
    assert len(llm.requests) == 1
    assert await Message.objects.filter(conversation_id=cid).acount() == 2
    await socket.disconnect()


async def test_a_new_chat_is_not_read_again_at_its_first_send_but_a_stale_guess_stores_right(
        chat_layer, llm, user, alice, monkeypatch):
    """A socket whose snapshot found no conversation, with no frame since, sends without
    reading the conversation again. When the guess went stale (written by a path whose
    frame had not come yet), the second try finds what is there: a repeat, or the branch
    to go on."""
    from chat import selectors, services

    looks = []
    send_look = selectors.send_look
    monkeypatch.setattr(selectors, "send_look", lambda **kw: looks.append(kw) or send_look(**kw))
    cid = uuid.uuid4()
    first, _ = await open_chat(alice, cid)
    second, _ = await open_chat(alice, cid)
    await first.send_json_to(send_frame("one", "c1"))
    await until_done(first)
    assert looks == []
    await until_done(second)  # the first's frames reached it: it reads at its send
    await second.send_json_to(send_frame("two", "c2"))
    await until_done(second)
    assert len(looks) == 1
    answer = await Message.objects.aget(conversation_id=cid, role="assistant", parent__content="one")
    assert (await Message.objects.aget(conversation_id=cid, content="two")).parent_id == answer.id

    stale = uuid.uuid4()
    socket, _ = await open_chat(alice, stale)
    # Stored where no frame tells this socket of it.
    earlier = await sync_to_async(services.message_send)(user=user, conversation_id=stale, content="earlier",
                                                         client_id="e1")
    await sync_to_async(services.answer_finish)(answer_id=earlier.answer.id, status="complete", content="A",
                                                reasoning="", seq=1)
    await socket.send_json_to(send_frame("earlier", "e1"))  # a repeat: the stored message, nothing started
    echo = await socket.receive_json_from(timeout=5)
    assert (echo["type"], echo["message"]["id"]) == ("message.created", str(earlier.user_message.id))
    assert await socket.receive_nothing(timeout=0.3)
    await socket.send_json_to(send_frame("later", "l1"))
    frames = await until_done(socket)
    assert deltas_text(frames) == Scenario().text and frames[-1]["message"]["content"] == Scenario().text
    assert (await Message.objects.aget(conversation_id=stale, content="later")).parent_id == earlier.answer.id
    assert await Message.objects.filter(conversation_id=stale).acount() == 4
    # The repeat was guessed to be a new chat's first question: its upstream request, if it
    # went out before the send was found stored, was closed unread. The next send read.
    asked = [request["messages"] for request in llm.requests]
    assert len(asked) in (3, 4) and asked[2:-1] in ([], [[{"role": "user", "content": "earlier"}]]), asked
    assert asked[-1] == [{"role": "user", "content": "earlier"}, {"role": "assistant", "content": "A"},
                         {"role": "user", "content": "later"}]
    for each in (first, second, socket):
        await each.disconnect()


async def test_an_answer_whose_send_waits_beyond_the_stale_limit_is_not_taken_for_dead(chat_layer, settings, llm,
                                                                                      alice, monkeypatch):
    """On a busy process a send's transaction may wait longer than CHAT_STALE_AFTER before
    its answer runs: the answer, prepared and not running yet, keeps its beat, so no reaper
    (this process's own neither) marks it interrupted."""
    if chat_layer != "redis":
        pytest.skip("the reaper runs with Redis only")
    from chat import recovery, sending

    settings.CHAT_STALE_AFTER = 1.2
    opened = sending._open_send

    def then_waits(**kwargs):
        stored = opened(**kwargs)
        time.sleep(2.5)  # the ORM thread's queue of a busy process, after the commit
        return stored

    monkeypatch.setattr(sending, "_open_send", then_waits)
    llm.enqueue(Scenario.words("one two three"))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("hello"))
    await asyncio.sleep(2.0)
    assert await recovery.reap() == 0
    frames = await until_done(socket)
    assert frames[-1]["message"]["status"] == "complete" and deltas_text(frames) == "one two three"
    assert (await Message.objects.aget(conversation_id=cid, role="assistant")).status == "complete"
    await socket.disconnect()


def _asked_while_storing(monkeypatch, llm, count: int, before=None, then=None, wait: float = 5) -> list[bool]:
    """Wrap the send's transaction: it first waits (`wait` s at most) until the upstream has
    `count` requests; whether they came is recorded. `before` runs first; `then` raises
    instead of storing."""
    from chat import sending

    came, opened = [], sending._open_send

    def storing(**kwargs):
        if before is not None:
            before()
        deadline = time.monotonic() + wait
        while len(llm.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        came.append(len(llm.requests) >= count)
        if then is not None:
            raise then
        return opened(**kwargs)

    monkeypatch.setattr(sending, "_open_send", storing)
    return came


async def test_the_upstream_request_goes_out_while_the_send_is_stored(chat_layer, llm, alice, monkeypatch):
    """The model's first token and the send's transaction overlap: the request is asked on
    the first hop's guess, for a new chat and a follow-up, and its tokens are published once
    the answer is stored and announced, in order."""
    came = _asked_while_storing(monkeypatch, llm, 1)
    llm.enqueue(Scenario.words("one two three"), Scenario.words("four five"))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("hello", "c1"))
    frames = await until_done(socket)
    kinds = [f["type"] for f in frames]
    assert kinds.index("message.delta") > max(i for i, kind in enumerate(kinds) if kind == "message.created")
    assert deltas_text(frames) == "one two three" and frames[-1]["message"]["status"] == "complete"
    came = _asked_while_storing(monkeypatch, llm, 2)
    await socket.send_json_to(send_frame("more", "c2"))
    frames = await until_done(socket)
    assert came == [True] and deltas_text(frames) == "four five"
    assert [r["messages"] for r in llm.requests][-1] == [
        {"role": "user", "content": "hello"}, {"role": "assistant", "content": "one two three"},
        {"role": "user", "content": "more"}]
    stored = await Message.objects.aget(conversation_id=cid, role="assistant", parent__content="more")
    assert (stored.content, stored.status) == ("four five", "complete")
    await socket.disconnect()
    from chat import sending

    assert sending._early == set()


async def test_no_request_is_asked_early_while_sends_queue_for_their_transaction(chat_layer, llm, alice,
                                                                                 monkeypatch):
    """Beyond sending.EARLY_ASKS sends waiting for their transaction, the ORM thread is the
    bottleneck: a send asks when its answer runs."""
    from chat import sending

    monkeypatch.setattr(sending, "EARLY_ASKS", 0)
    came = _asked_while_storing(monkeypatch, llm, 1, wait=0.5)
    llm.enqueue(Scenario.words("one two three"))
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to(send_frame("hello", "c1"))
    frames = await until_done(socket)
    assert came == [False] and deltas_text(frames) == "one two three" and len(llm.requests) == 1
    assert sending._early == set()
    await socket.disconnect()


async def _answered_hello(llm, cookie):
    """A new chat whose "hello" got "first answer"; the next two requests are queued: one
    to be closed unpublished, then "right answer". Returns the socket and the chat's id."""
    llm.enqueue(Scenario.words("first answer"), Scenario.words("never published " * 10, delay=0.05),
                Scenario.words("right answer"))
    cid = uuid.uuid4()
    socket, _ = await open_chat(cookie, cid)
    await socket.send_json_to(send_frame("hello", "c1"))
    await until_done(socket)
    return socket, cid


async def _asked_again_as_stored(socket, llm, came: list[bool]) -> None:
    """The follow-up "again" after "hello" / "first answer", whose guessed request (asked
    while `came` recorded it) the stored system prompt "Be brief." contradicts: it is closed
    unpublished, and the answer is asked as stored."""
    await socket.send_json_to(send_frame("again", "c2"))
    frames = await until_done(socket)
    assert came == [True]
    assert deltas_text(frames) == "right answer" and frames[-1]["message"]["content"] == "right answer"
    assert await llm.async_wait_for_client_close(timeout=5) and llm.closed_early == [1]
    earlier = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "first answer"},
               {"role": "user", "content": "again"}]
    assert [r["messages"] for r in llm.requests][1:] == [
        earlier, [{"role": "system", "content": "Be brief."}, *earlier]]
    await socket.disconnect()


async def test_a_guess_the_stored_send_contradicts_is_asked_again(chat_layer, llm, user, alice, monkeypatch):
    """The conversation's settings changed (another tab) between the first hop and the
    transaction: the request asked on the guess is closed unpublished, and the answer is
    asked again with the stored settings."""
    from chat import choices

    socket, cid = await _answered_hello(llm, alice)
    came = _asked_while_storing(monkeypatch, llm, 2, before=lambda: choices.conversation_settings_update(
        user=user, conversation_id=cid, chosen={"system_prompt": "Be brief."}))
    await _asked_again_as_stored(socket, llm, came)


def _asked_while_looking(monkeypatch, llm, count: int, wait: float = 5) -> list[bool]:
    """Wrap the send's first hop: it first waits (`wait` s at most) until the upstream has
    `count` requests; whether they came is recorded."""
    from chat import sending

    came, looking = [], sending._before_send

    def look(**kwargs):
        deadline = time.monotonic() + wait
        while len(llm.requests) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        came.append(len(llm.requests) >= count)
        return looking(**kwargs)

    monkeypatch.setattr(sending, "_before_send", look)
    return came


async def test_a_follow_up_is_asked_before_the_database_is_read(chat_layer, llm, alice, monkeypatch):
    """The process remembers the conversations its answers ran in (chat.recall): the next
    send's request goes out before its first hop, and is kept when the hop sees the same;
    a new chat is asked on the user's last choice as the last send read it."""
    from chat import sending

    llm.enqueue(Scenario.words("one two three"), Scenario.words("four five"), Scenario.words("six"))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("hello", "c1"))
    await until_done(socket)
    came = _asked_while_looking(monkeypatch, llm, 2)
    await socket.send_json_to(send_frame("more", "c2"))
    frames = await until_done(socket)
    assert came == [True] and deltas_text(frames) == "four five" and frames[-1]["message"]["status"] == "complete"
    assert len(llm.requests) == 2 and llm.closed_early == []
    assert llm.requests[1]["messages"] == [
        {"role": "user", "content": "hello"}, {"role": "assistant", "content": "one two three"},
        {"role": "user", "content": "more"}]
    other, _ = await open_chat(alice, uuid.uuid4())
    came = _asked_while_looking(monkeypatch, llm, 3)
    await other.send_json_to(send_frame("new chat", "c3"))
    frames = await until_done(other)
    assert came == [True] and deltas_text(frames) == "six"
    assert len(llm.requests) == 3 and llm.closed_early == []
    assert sending._early == set()
    await socket.disconnect()
    await other.disconnect()


async def test_a_send_the_process_expects_is_looked_at_and_stored_in_one_hop(chat_layer, llm, alice, monkeypatch):
    """A send in a conversation the process remembers has its checks run beside its first
    hop; once they passed, the transaction follows in the same call on the ORM thread. A
    send the process knows nothing of takes two."""
    from chat import sending

    llm.enqueue(Scenario.words("one"), Scenario.words("two"))
    calls, call, looking = [], sending.orm_call, sending._before_send

    async def counted(func, /, *args, **kwargs):
        calls.append(func.__name__)
        return await call(func, *args, **kwargs)

    def slow_look(**kwargs):
        time.sleep(0.2)  # the checks on the loop (a Redis round trip) pass meanwhile
        return looking(**kwargs)

    monkeypatch.setattr(sending, "orm_call", counted)
    monkeypatch.setattr(sending, "_before_send", slow_look)
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("hello", "c1"))
    assert deltas_text(await until_done(socket)) == "one"
    assert calls == ["_look_then_store", "_store"]
    calls.clear()
    await socket.send_json_to(send_frame("more", "c2"))
    assert deltas_text(await until_done(socket)) == "two"
    assert calls == ["_look_then_store"]
    assert await Message.objects.filter(conversation_id=cid).acount() == 4
    await socket.disconnect()


async def test_the_first_hop_waits_briefly_for_checks_that_are_late(chat_layer, llm, alice, monkeypatch):
    """Checks a little later than the first hop (a Redis round trip on a busy loop) are
    waited for, up to sending.GATE_WAIT, while no other call waits for the ORM thread: the
    send still takes one hop."""
    from chat import sending

    llm.enqueue(Scenario.words("one"), Scenario.words("two"))
    calls, call, rate = [], sending.orm_call, sending.check_rate

    async def counted(func, /, *args, **kwargs):
        calls.append(func.__name__)
        return await call(func, *args, **kwargs)

    async def late_rate(*args, **kwargs):
        await asyncio.sleep(sending.GATE_WAIT / 2)
        return await rate(*args, **kwargs)

    monkeypatch.setattr(sending, "orm_call", counted)
    monkeypatch.setattr(sending, "check_rate", late_rate)
    monkeypatch.setattr(sending, "GATE_WAIT", 0.05)
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("hello", "c1"))
    await until_done(socket)
    calls.clear()
    await socket.send_json_to(send_frame("more", "c2"))
    assert deltas_text(await until_done(socket)) == "two"
    assert calls == ["_look_then_store"]
    await socket.disconnect()


async def test_a_remembered_conversation_changed_elsewhere_is_asked_as_stored(chat_layer, llm, alice,
                                                                              monkeypatch):
    """The conversation changed since its last answer here (on another process, or by an
    admin): the request asked on what the process remembered is closed unpublished, and the
    answer is asked on what the first hop read."""
    socket, cid = await _answered_hello(llm, alice)
    await Conversation.objects.filter(id=cid).aupdate(system_prompt="Be brief.")  # as another process would
    came = _asked_while_looking(monkeypatch, llm, 2)
    await _asked_again_as_stored(socket, llm, came)


async def test_a_logged_out_send_closes_the_request_asked_before_its_first_hop(chat_layer, llm, alice,
                                                                               monkeypatch):
    """The session is checked in the first hop, after a remembered conversation's request
    went out: the request is closed, nothing is stored or published, the socket gets 4001."""
    llm.enqueue(Scenario.words("first answer"), Scenario.words("never seen " * 20, delay=0.05))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("hello", "c1"))
    await until_done(socket)
    await Session.objects.all().adelete()
    came = _asked_while_looking(monkeypatch, llm, 2)
    await socket.send_json_to(send_frame("again", "c2"))
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close", "code": 4001}
    assert came == [True] and await llm.async_wait_for_client_close(timeout=5) and llm.closed_early == [1]
    assert await Message.objects.filter(conversation_id=cid).acount() == 2


async def test_no_request_goes_out_before_the_first_hop_for_a_user_the_rate_limit_refused(
        chat_layer, llm, alice, settings, monkeypatch):
    """Every send refused by the rate limit would open a request to be closed: after a
    refusal, sends of that user are asked once stored."""
    settings.CHAT_RATE_LIMIT = "2/m"
    llm.enqueue(Scenario.words("first answer"), Scenario.words("second answer"),
                Scenario.words("never seen " * 20, delay=0.05))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    for text in ("one", "two"):
        await socket.send_json_to(send_frame(text))
        await until_done(socket)
    came = _asked_while_looking(monkeypatch, llm, 3)
    await socket.send_json_to(send_frame("three"))
    await expect_error(socket, "rate_limited")
    assert came == [True] and await llm.async_wait_for_client_close(timeout=5) and llm.closed_early == [2]
    await socket.send_json_to(send_frame("four"))
    await expect_error(socket, "rate_limited")
    assert len(llm.requests) == 3  # no request for the second refused send
    await socket.disconnect()


async def test_a_send_refused_when_stored_closes_its_early_request(chat_layer, llm, alice, monkeypatch):
    """The answer cap is checked under lock (answers of another process): the request
    asked early is closed, nothing is stored, and the client is told."""
    from chat import services

    came = _asked_while_storing(monkeypatch, llm, 1, then=services.TooManyAnswers())
    llm.enqueue(Scenario.words("never seen " * 20, delay=0.05))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("hello", "c1"))
    await expect_error(socket, "too_many_answers")
    assert came == [True] and await llm.async_wait_for_client_close(timeout=5)
    assert await socket.receive_nothing(timeout=0.3)
    assert not await Message.objects.filter(conversation_id=cid).aexists()
    await socket.disconnect()


# --- upstream failures ---------------------------------------------------------------------------
@pytest.mark.parametrize("scenario,partial,needle", [
    (Scenario(status=500), False, "500"),
    (Scenario(status=429), False, "429"),
    (Scenario.words(WORDS, drop_after=5), True, "lost"),
    (Scenario.words(WORDS, malformed_after=5), True, "malformed"),
    (Scenario.words(WORDS, hang_after=5), True, "stopped responding"),
], ids=["http500", "http429", "dropped", "malformed", "hang"])
async def test_upstream_failure_ends_with_error_and_the_text_so_far(scenario, partial, needle, settings,
                                                                     llm, alice):
    settings.LLM_TIMEOUT = 0.5
    llm.enqueue(scenario)
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to(send_frame())
    frames = await until_done(socket)
    done = frames[-1]["message"]
    assert done["status"] == "error" and needle in done["error"], done["error"]
    assert done["content"] == deltas_text(frames)
    if partial:
        assert done["content"] and WORDS.startswith(done["content"])
    stored = await Message.objects.aget(id=done["id"])
    assert (stored.status, stored.content, stored.error) == ("error", done["content"], done["error"])
    await socket.disconnect()


# --- orphans -----------------------------------------------------------------------------------------
def make_orphan(user, cid, *, age: float = 60):
    """An answer left `streaming` by a process that died `age` seconds after starting it
    (recovery.starting: a younger one without live state may still be starting elsewhere)."""
    from django.utils import timezone

    conversation = Conversation.objects.create(id=cid, owner=user, title="t")
    question = Message.objects.create(conversation=conversation, role="user", content="Q")
    answer = Message.objects.create(conversation=conversation, role="assistant", status="streaming",
                                    content="half an ans", seq=4, parent=question)
    started = timezone.now() - timedelta(seconds=age)
    Message.objects.filter(id=question.id).update(created_at=started - timedelta(milliseconds=1))
    Message.objects.filter(id=answer.id).update(created_at=started)
    answer.refresh_from_db()
    return answer


async def test_orphaned_answer_is_interrupted_when_read(chat_layer, llm, user, alice):
    cid = uuid.uuid4()
    orphan = await sync_to_async(make_orphan)(user, cid)
    socket, snapshot = await open_chat(alice, cid)
    message = snapshot["messages"][-1]
    assert (message["id"], message["status"], message["content"]) == (str(orphan.id), "interrupted",
                                                                      "half an ans")
    # Listeners are told too; then the conversation is not busy any more.
    assert (await until_done(socket))[-1]["message"]["status"] == "interrupted"
    await socket.send_json_to(send_frame("go on"))
    assert (await until_done(socket))[-1]["message"]["status"] == "complete"
    await socket.disconnect()


async def test_a_young_answer_without_live_state_is_left_to_its_process_when_read(chat_layer, llm, user, alice,
                                                                                 settings):
    """As at start-up: a snapshot (or a send) on another process, between an answer's row
    and its live state's start, does not take it for an orphan; once older than
    CHAT_STALE_AFTER without live state, it is one."""
    if chat_layer != "redis":
        pytest.skip("without Redis an answer's live state starts before its row is stored")
    cid = uuid.uuid4()
    starting = await sync_to_async(make_orphan)(user, cid, age=0)
    socket, snapshot = await open_chat(alice, cid)
    assert snapshot["messages"][-1]["status"] == "streaming"
    await socket.send_json_to(send_frame("another"))
    assert (await socket.receive_json_from(timeout=5))["code"] == "busy"
    assert (await Message.objects.aget(id=starting.id)).status == "streaming"
    await socket.disconnect()
    await Message.objects.filter(conversation_id=cid).aupdate(
        created_at=F("created_at") - timedelta(seconds=settings.CHAT_STALE_AFTER + 1))
    socket, snapshot = await open_chat(alice, cid)
    assert snapshot["messages"][-1]["status"] == "interrupted"
    await socket.disconnect()


def test_orphans_are_interrupted_at_start_up(user, settings):
    from chat.recovery import recover_on_start

    settings.REDIS_URL = ""
    orphan = make_orphan(user, uuid.uuid4())
    assert recover_on_start() == 1
    orphan.refresh_from_db()
    assert (orphan.status, orphan.content) == ("interrupted", "half an ans")
    assert recover_on_start() == 0


async def test_answer_whose_conversation_is_deleted_ends_quietly(llm, alice, caplog):
    from chat import generation

    llm.enqueue(Scenario.words(WORDS, delay=0.01))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame())
    await frames_until(socket, lambda f: f["type"] == "message.delta")
    await Conversation.objects.filter(id=cid).adelete()
    await generation.wait_all(timeout=10)
    assert not generation.running_here(cid)
    assert "could not be finished" not in caplog.text
    assert await Message.objects.filter(conversation_id=cid).acount() == 0
    await socket.disconnect()


async def test_stops_sent_right_after_the_send_all_end_stopped(chat_layer, llm, alice):
    # Stops that land while the upstream request is still being opened (0-0.3 s after the
    # send) must end the answer too, without waiting for the upstream to close.
    rng = random.Random(7)
    for _ in range(6):
        llm.enqueue(Scenario.words(WORDS, delay=0.02))
        tab, _ = await open_chat(alice, uuid.uuid4())
        await tab.send_json_to(send_frame())
        await asyncio.sleep(rng.uniform(0, 0.3))
        await tab.send_json_to({"type": "generation.stop"})
        done = (await until_done(tab, timeout=10))[-1]["message"]
        assert done["status"] == "stopped"
        assert WORDS.startswith(done["content"]) and done["content"] != WORDS
        stored = await Message.objects.aget(id=done["id"])
        assert (stored.status, stored.content) == ("stopped", done["content"])
        await tab.disconnect()


def test_a_young_answer_without_live_state_is_left_to_its_process_at_start_up(chat_layer, user, settings):
    """With Redis an answer's row is committed beside its live state's start, which Redis
    may run a little later: a process starting then (a rolling restart) does not take the
    answer for an orphan; once older than CHAT_STALE_AFTER without live state, it is one."""

    from django.utils import timezone

    from chat.recovery import recover_on_start

    if chat_layer != "redis":
        pytest.skip("without Redis the starting process is the only one")
    starting = make_orphan(user, uuid.uuid4(), age=0)
    assert recover_on_start() == 0
    starting.refresh_from_db()
    assert starting.status == "streaming"
    Message.objects.filter(id=starting.id).update(created_at=timezone.now() - timedelta(seconds=7))
    assert recover_on_start() == 1
    starting.refresh_from_db()
    assert starting.status == "interrupted"
