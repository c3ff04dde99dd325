"""Per-conversation model, system prompt and temperature, over the socket, SSE and the API,
checked where it matters: in the requests the loopback upstream received.

Tests that take `chat_layer` run on the in-process layer and on Redis.
"""
import uuid

import pytest

from chat.models import ChatPreference, Conversation, Message
from llm import registry

from .test_api_sse import request, send
from .ws import open_chat, send_frame, until_done

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def models(settings, llm):
    """Two models on the loopback upstream, the first the default."""
    settings.LLM_MODELS = [
        {"id": "fast", "label": "Fast", "provider": "openai", "model": "fast-model",
         "base_url": llm.base_url, "api_key": "k"},
        {"id": "smart", "label": "Smart", "provider": "openai", "model": "smart-model",
         "base_url": llm.base_url, "api_key": "k", "extra_body": {"reasoning_effort": "high"}},
    ]
    settings.CHAT_SYSTEM_PROMPT = "Operator rules."
    return llm


def system_of(request_body) -> str | None:
    first = request_body["messages"][0]
    return first["content"] if first["role"] == "system" else None


async def test_chosen_model_prompt_and_temperature_reach_the_upstream_and_stay(chat_layer, models, alice):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to({**send_frame("First"), "model": "smart", "system_prompt": "Answer in French.",
                               "temperature": 0.37})
    frames = await until_done(socket)
    updated = frames[0]
    assert updated["type"] == "conversation.updated"
    assert {k: updated["conversation"][k] for k in ("model", "system_prompt", "temperature")} == {
        "model": "smart", "system_prompt": "Answer in French.", "temperature": 0.4}
    first = models.requests[-1]
    assert first["model"] == "smart-model" and first["temperature"] == 0.4
    assert first["reasoning_effort"] == "high"  # the entry's extra body
    # The conversation's prompt extends the operator's, in one system message.
    assert system_of(first) == "Operator rules.\n\nAnswer in French."
    assert frames[-1]["message"]["model"] == "smart"
    # A later send without settings keeps the conversation's.
    await socket.send_json_to(send_frame("Second"))
    await until_done(socket)
    second = models.requests[-1]
    assert (second["model"], second["temperature"], system_of(second)) == (
        "smart-model", 0.4, "Operator rules.\n\nAnswer in French.")
    # And a regenerate too.
    await socket.send_json_to({"type": "message.regenerate"})
    await until_done(socket)
    assert (models.requests[-1]["model"], models.requests[-1]["temperature"]) == ("smart-model", 0.4)
    answers = Message.objects.filter(conversation_id=cid, role="assistant")
    assert {m.model async for m in answers} == {"smart"}
    await socket.disconnect()


async def test_without_a_choice_the_default_model_and_its_own_temperature(models, alice):
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to(send_frame())
    frames = await until_done(socket)
    sent = models.requests[-1]
    assert sent["model"] == "fast-model" and "temperature" not in sent and "reasoning_effort" not in sent
    assert system_of(sent) == "Operator rules."
    assert frames[0]["conversation"]["model"] == "fast"
    assert frames[-1]["message"]["model"] == "fast"
    await socket.disconnect()


async def test_unknown_model_is_refused_and_nothing_stored(chat_layer, models, alice):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to({**send_frame("Hi", "c1"), "model": "gpt-17"})
    error = await socket.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "unknown_model" and error["client_id"] == "c1"
    assert "'gpt-17' is not offered" in error["message"]
    assert not await Conversation.objects.filter(id=cid).aexists()
    assert not await ChatPreference.objects.aexists()
    assert models.requests == []
    # Over SSE alike.
    response = await send(cid, alice, "Hi", model="gpt-17")
    assert response.status == 422
    assert (await response.json())["error"]["code"] == "unknown_model"
    assert not await Conversation.objects.filter(id=cid).aexists() and models.requests == []
    await socket.disconnect()


@pytest.mark.parametrize("field", [{"model": ""}, {"model": 5}, {"temperature": 2.5}, {"temperature": -1},
                                   {"temperature": "hot"}, {"system_prompt": 3}])
async def test_malformed_settings_are_bad_requests(models, alice, field):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to({**send_frame(), **field})
    error = await socket.receive_json_from(timeout=5)
    assert error["code"] == "bad_request", error
    assert not await Conversation.objects.filter(id=cid).aexists()
    await socket.disconnect()


async def test_withdrawn_model_is_refused_until_another_is_picked(chat_layer, settings, models, alice):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await socket.send_json_to({**send_frame("Hi"), "model": "smart"})
    await until_done(socket)
    settings.LLM_MODELS = settings.LLM_MODELS[:1]  # the operator withdraws "smart"
    asked = len(models.requests)
    await socket.send_json_to(send_frame("Still there?", "c2"))
    error = await socket.receive_json_from(timeout=5)
    assert (error["code"], error["client_id"]) == ("unknown_model", "c2")
    await socket.send_json_to({"type": "message.regenerate"})
    assert (await socket.receive_json_from(timeout=5))["code"] == "unknown_model"
    assert await Message.objects.filter(conversation_id=cid).acount() == 2
    assert len(models.requests) == asked
    # Picking another model (PATCH) lets the conversation go on, and every socket hears of it.
    response = await request("PATCH", f"/api/conversations/{cid}/", alice, {"model": "fast"})
    assert response.status == 200 and (await response.json())["model"] == "fast"
    assert (await socket.receive_json_from(timeout=5))["conversation"]["model"] == "fast"
    await socket.send_json_to(send_frame("Still there?"))
    frames = await until_done(socket)
    assert frames[-1]["message"]["model"] == "fast" and models.requests[-1]["model"] == "fast-model"
    await socket.disconnect()


async def test_a_new_chat_takes_the_users_last_choice(models, alice, bob):
    first = uuid.uuid4()
    await (await send(first, alice, "One")).body()
    response = await request("PATCH", f"/api/conversations/{first}/", alice,
                             {"model": "smart", "system_prompt": "Be terse.", "temperature": 1.25})
    assert response.status == 200
    assert (await response.json())["temperature"] == 1.2  # 0.1 steps (1.25 is 1.2499... as a float)
    choice = await request("GET", "/api/models/", alice)
    assert await choice.json() == {
        "models": [{"id": "fast", "label": "Fast"}, {"id": "smart", "label": "Smart"}],
        "default": {"model": "smart", "system_prompt": "Be terse.", "temperature": 1.2},
    }
    # A plain send (no settings) in a new chat: the last choice, stored on the conversation.
    second = uuid.uuid4()
    events = await (await send(second, alice, "Two")).body()
    assert b"message.done" in events
    sent = models.requests[-1]
    assert (sent["model"], sent["temperature"], system_of(sent)) == (
        "smart-model", 1.2, "Operator rules.\n\nBe terse.")
    conversation = await Conversation.objects.aget(id=second)
    assert (conversation.model, conversation.system_prompt, conversation.temperature) == ("smart", "Be terse.", 1.2)
    # Another user's new chat is not touched by alice's choice.
    await (await send(uuid.uuid4(), bob, "Three")).body()
    assert models.requests[-1]["model"] == "fast-model" and "temperature" not in models.requests[-1]
    bobs = await (await request("GET", "/api/models/", bob)).json()
    assert bobs["default"] == {"model": "fast", "system_prompt": "", "temperature": None}


async def test_a_remembered_model_that_was_withdrawn_gives_way_to_the_default(settings, models, alice):
    await (await send(uuid.uuid4(), alice, "One", model="smart")).body()
    settings.LLM_MODELS = settings.LLM_MODELS[:1]
    assert (await (await request("GET", "/api/models/", alice)).json())["default"]["model"] == "fast"
    await (await send(uuid.uuid4(), alice, "Two")).body()
    assert models.requests[-1]["model"] == "fast-model"


async def test_patching_settings_is_checked_and_owned(models, alice, bob):
    cid = uuid.uuid4()
    await (await send(cid, alice, "Trip to Lisbon")).body()
    path = f"/api/conversations/{cid}/"
    unknown = await request("PATCH", path, alice, {"title": "New title", "model": "nope"})
    assert unknown.status == 422 and (await unknown.json())["error"]["code"] == "unknown_model"
    too_hot = await request("PATCH", path, alice, {"temperature": 3})
    assert too_hot.status == 400
    too_long = await request("PATCH", path, alice, {"system_prompt": "x" * 8001})
    assert too_long.status == 422 and (await too_long.json())["error"]["code"] == "too_long"
    foreign = await request("PATCH", path, bob, {"model": "smart"})
    assert foreign.status == 404
    conversation = await Conversation.objects.aget(id=cid)
    assert (conversation.title, conversation.model, conversation.temperature) == ("Trip to Lisbon", "fast", None)
    assert not await ChatPreference.objects.aexists()  # a refused choice is not remembered
    both = await request("PATCH", path, alice, {"title": "Lisbon", "temperature": None, "system_prompt": "Hi."})
    assert both.status == 200
    assert {k: (await both.json())[k] for k in ("title", "temperature", "system_prompt")} == {
        "title": "Lisbon", "temperature": None, "system_prompt": "Hi."}


async def test_temperatures_share_one_provider_per_model(models, alice):
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to(send_frame("warm up"))
    await until_done(socket)
    providers = len(registry._cache)
    for step in range(1, 8):
        await socket.send_json_to({**send_frame(f"t{step}"), "temperature": step / 7})
        await until_done(socket)
    assert len(registry._cache) == providers
    assert [r["temperature"] for r in models.requests[1:]] == [round(step / 7, 1) for step in range(1, 8)]
    await socket.disconnect()
