"""Titles by the model: asked after a new chat's first answer, in a task of its own.

The answer and the title request both go to the loopback upstream, in that order: the
first scenario queued answers, the second titles.
"""
import asyncio
import uuid

import pytest

from chat import titles
from chat.models import Conversation
from llm.titles import TITLE_INSTRUCTION
from tests.fake_upstream import Scenario

from .test_api_sse import request
from .ws import frames_until, open_chat, send_frame, until_done

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def titles_on(settings):
    settings.CHAT_TITLES_BY_MODEL = True


def is_update(frame) -> bool:
    return frame["type"] == "conversation.updated"


async def test_the_model_titles_a_new_chat_and_every_socket_hears_it(chat_layer, llm, alice):
    llm.enqueue(Scenario.words("Lisbon in May is warm."), Scenario.words('"Planning a Lisbon trip."'))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    other_tab, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("Where should I go in May? Somewhere warm"))
    frames = await until_done(socket)
    first_title = frames[0]["conversation"]["title"]
    assert first_title == "Where should I go in May? Somewhere warm"
    for tab in (socket, other_tab):  # (the other tab first hears of the chat's creation)
        update = (await frames_until(tab, lambda f: is_update(f) and f["conversation"]["title"] != first_title))[-1]
        assert update["conversation"]["title"] == "Planning a Lisbon trip"  # quotes and the period cleaned
    title_request = llm.requests[1]
    assert title_request["model"] == "fake-model"  # the conversation's model
    assert [m["role"] for m in title_request["messages"]] == ["system", "user", "assistant", "user"]
    assert title_request["messages"][0]["content"] == TITLE_INSTRUCTION
    assert title_request["messages"][2]["content"] == "Lisbon in May is warm."
    # A title is short: the upstream is told to stop early (the answers are not capped).
    # (LangChain sends OpenAI's newer name for it.)
    cap = title_request.get("max_completion_tokens", title_request.get("max_tokens"))
    assert cap == 32 and not {"max_tokens", "max_completion_tokens"} & set(llm.requests[0])
    conversation = await Conversation.objects.aget(id=cid)
    assert (conversation.title, conversation.title_source) == ("Planning a Lisbon trip", "model")
    # Only the first answer is titled.
    await socket.send_json_to(send_frame("And in June?"))
    await until_done(socket)
    await titles.wait_all()
    assert len(llm.requests) == 3
    for tab in (socket, other_tab):
        await tab.disconnect()


async def test_the_demo_model_titles_deterministically(settings, alice):
    settings.LLM_PROVIDER, settings.LLM_MODEL = "demo", None
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("Plan a week in Lisbon for two people"))
    update = (await frames_until(socket, lambda f: is_update(f) and f["conversation"]["title"].startswith("Demo")))[-1]
    assert update["conversation"]["title"] == "Demo: Plan a week in Lisbon"
    await socket.disconnect()


@pytest.mark.parametrize("failure", [Scenario(status=500), Scenario(content=[]), Scenario(silent=True)])
async def test_a_failed_title_request_leaves_the_title(settings, llm, alice, failure):
    settings.CHAT_TITLE_TIMEOUT = 0.5
    llm.enqueue(Scenario.words("An answer."), failure)
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("Keep my title"))
    await until_done(socket)
    async with asyncio.timeout(5):  # bounded: the timeout ends a silent upstream
        await titles.wait_all()
    assert len(llm.requests) == 2
    conversation = await Conversation.objects.aget(id=cid)
    assert (conversation.title, conversation.title_source) == ("Keep my title", "first_message")
    assert await socket.receive_nothing(timeout=0.2)
    await socket.disconnect()


async def test_no_title_is_asked_when_the_first_answer_failed(llm, alice):
    llm.enqueue(Scenario(status=500))
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to(send_frame("Hello"))
    frames = await until_done(socket)
    assert frames[-1]["message"]["status"] == "error"
    await titles.wait_all()
    assert len(llm.requests) == 1
    await socket.disconnect()


async def test_a_rename_wins_even_while_the_title_request_runs(chat_layer, llm, alice):
    llm.enqueue(Scenario.words("An answer."), Scenario.words("A model title", delay=0.3))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("First question"))
    await until_done(socket)
    async with asyncio.timeout(5):
        while len(llm.requests) < 2:  # the title request is under way
            await asyncio.sleep(0.01)
    response = await request("PATCH", f"/api/conversations/{cid}/", alice, {"title": "Mine"})
    assert response.status == 200
    await titles.wait_all()
    conversation = await Conversation.objects.aget(id=cid)
    assert (conversation.title, conversation.title_source) == ("Mine", "user")
    updates = await frames_until(socket, is_update)
    assert updates[-1]["conversation"]["title"] == "Mine"
    assert await socket.receive_nothing(timeout=0.2)  # no model title announced after it
    await socket.disconnect()


async def test_a_title_request_does_not_hold_up_the_next_answer(settings, llm, alice):
    settings.CHAT_TITLE_TIMEOUT = 5
    llm.enqueue(Scenario.words("An answer."), Scenario(silent=True), Scenario.words("Second answer."))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to(send_frame("First"))
    await until_done(socket)
    async with asyncio.timeout(2):  # answered while the title request still hangs
        await socket.send_json_to(send_frame("Second"))
        frames = await until_done(socket)
    assert frames[-1]["message"]["content"] == "Second answer."
    assert titles._titling  # still asking
    await socket.disconnect()
