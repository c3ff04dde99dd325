"""Frames of a conversation reach only its owner's sockets, whoever joined its id first.

A socket may sit on a conversation id nobody has created yet; group names are not
secrets. Before owner-scoped groups, a user who opened a socket on a fresh id and got
the owner to chat there read every frame of the owner's conversation (and the reverse
over SSE). Tests that take `chat_layer` run on the in-process layer and on Redis.
"""
import asyncio
import uuid

import pytest

from chat.models import Message
from tests.fake_upstream import Scenario

from .test_api_sse import request, send, stored_answer
from .ws import open_chat, send_frame, until_done

pytestmark = pytest.mark.django_db(transaction=True)

LONG = " ".join(f"word{n}" for n in range(200))


async def test_socket_that_joined_first_gets_nothing_of_the_owners_chat(chat_layer, llm, alice, bob):
    cid = uuid.uuid4()
    spy, snapshot = await open_chat(bob, cid)
    assert snapshot["conversation"] is None
    owner, _ = await open_chat(alice, cid)
    await owner.send_json_to(send_frame("my secret plan"))
    frames = await until_done(owner)
    assert any(f["type"] == "message.delta" for f in frames)
    assert await spy.receive_nothing(timeout=0.5)
    # Asking for a snapshot of a conversation that is now alice's closes bob's socket.
    await spy.send_json_to({"type": "conversation.sync"})
    assert await spy.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}
    await owner.disconnect()


async def test_sse_created_conversations_do_not_leak_either_way(chat_layer, llm, alice, bob):
    # bob's socket first, alice creates the conversation over SSE.
    first = uuid.uuid4()
    spy, _ = await open_chat(bob, first)
    stream = await send(first, alice, "over SSE")
    await stream.body()
    assert stream.status == 200
    assert await spy.receive_nothing(timeout=0.5)
    # alice's socket first, bob creates the conversation over SSE: alice sees nothing of it.
    second = uuid.uuid4()
    waiting, _ = await open_chat(alice, second)
    stream = await send(second, bob, "bob's own")
    await stream.body()
    assert stream.status == 200
    assert await waiting.receive_nothing(timeout=0.5)
    # And alice cannot read it over HTTP.
    assert (await request("GET", f"/api/conversations/{second}/", alice)).status == 404
    await spy.disconnect()
    await waiting.disconnect()


async def spy_first_then_owners_answer(llm, alice, bob):
    """Bob's socket joins a fresh id first; alice's then starts a long answer there.
    Returns (cid, bob's socket, alice's socket) once the conversation exists."""
    llm.enqueue(Scenario.words(LONG, delay=0.005))
    cid = uuid.uuid4()
    spy, _ = await open_chat(bob, cid)
    owner, _ = await open_chat(alice, cid)
    await owner.send_json_to(send_frame())
    await owner.receive_json_from(timeout=5)  # conversation.updated: it exists now
    return cid, spy, owner


async def test_stop_from_a_socket_that_joined_first_does_not_stop_the_owner(chat_layer, llm, alice, bob):
    cid, spy, owner = await spy_first_then_owners_answer(llm, alice, bob)
    await spy.send_json_to({"type": "generation.stop"})
    frames = await until_done(owner, timeout=20)
    assert frames[-1]["message"]["status"] == "complete"
    assert frames[-1]["message"]["content"] == LONG
    # Over HTTP, bob's stop is a 404 and stops nothing either.
    assert (await request("POST", f"/api/conversations/{cid}/stop/", bob)).status == 404
    await owner.disconnect()
    await spy.disconnect()


async def test_create_race_loser_sees_nothing_of_the_winner(chat_layer, llm, alice, bob):
    llm.enqueue(Scenario.words(LONG, delay=0.002), Scenario.words(LONG, delay=0.002))
    cid = uuid.uuid4()
    alices, _ = await open_chat(alice, cid)
    bobs, _ = await open_chat(bob, cid)
    await asyncio.gather(alices.send_json_to(send_frame("alice first")),
                         bobs.send_json_to(send_frame("bob first")))
    outputs = {"alice": [], "bob": []}

    async def read_all(name, socket):
        while True:
            out = await socket.receive_output(timeout=20)
            outputs[name].append(out)
            if out["type"] == "websocket.close" or '"message.done"' in out.get("text", ""):
                return

    await asyncio.gather(read_all("alice", alices), read_all("bob", bobs))
    winner_id = (await Message.objects.select_related("conversation").filter(conversation_id=cid).afirst()).conversation.owner_id
    loser = "bob" if winner_id == (await _user_id("alice")) else "alice"
    # The loser got a close 4003 (or a refusal), and not one frame of the winner's answer.
    loser_texts = [o.get("text", "") for o in outputs[loser]]
    assert not any("message.delta" in t or "message.done" in t or "message.created" in t for t in loser_texts)
    assert outputs[loser][-1] == {"type": "websocket.close", "code": 4003}
    winner = await stored_answer(cid)
    assert winner.status == "complete"


async def _user_id(username):
    from django.contrib.auth import get_user_model

    return (await get_user_model().objects.aget(username=username)).pk


async def test_send_during_the_owners_answer_is_closed_not_busy(chat_layer, llm, alice, bob):
    # Before: bob got `busy` for alice's running answer, stayed joined, and read the rest.
    _, spy, owner = await spy_first_then_owners_answer(llm, alice, bob)
    await spy.send_json_to(send_frame("let me in"))
    assert await spy.receive_output(timeout=5) == {"type": "websocket.close", "code": 4003}
    await until_done(owner, timeout=20)
    assert not await Message.objects.filter(content="let me in").aexists()
    await owner.disconnect()
