"""Feedback over the HTTP API, and the `message.feedback` frame every tab of the owner gets."""
import json

import pytest
from django.test import AsyncClient

from chat.tests.ws import frames_until, open_chat
from feedback.models import Feedback

pytestmark = pytest.mark.django_db(transaction=True)


def url(message) -> str:
    return f"/api/messages/{message.id}/feedback/"


async def put(client, message, **body):
    return await client.put(url(message), data=json.dumps(body), content_type="application/json")


@pytest.fixture
async def alice_client(user):
    client = AsyncClient()
    await client.aforce_login(user)
    return client


async def test_rate_change_withdraw_reach_another_tab(chat_layer, alice_client, alice, answers):
    conversation, (answer, _) = answers
    tab, snapshot = await open_chat(alice, conversation.id)
    try:
        response = await put(alice_client, answer, rating="down", reason="incomplete", comment="Stops early")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["message_id"] == str(answer.id)
        assert body["feedback"]["rating"] == "down" and body["feedback"]["reason"] == "incomplete"
        frames = await frames_until(tab, lambda f: f["type"] == "message.feedback")
        assert frames[-1] == {"type": "message.feedback", **body}

        response = await alice_client.delete(url(answer))
        assert response.status_code == 200 and response.json() == {"message_id": str(answer.id), "feedback": None}
        frames = await frames_until(tab, lambda f: f["type"] == "message.feedback")
        assert frames[-1]["feedback"] is None
        assert not await Feedback.objects.aexists()
    finally:
        await tab.disconnect()


async def test_conversation_ratings_on_load(alice_client, answers):
    conversation, (first, second) = answers
    await put(alice_client, second, rating="up", reason="helpful")
    response = await alice_client.get(f"/api/conversations/{conversation.id}/feedback/")
    assert response.status_code == 200
    items = response.json()["items"]
    assert list(items) == [str(second.id)] and items[str(second.id)]["reason"] == "helpful"


async def test_another_users_answer_is_not_found_and_their_tab_hears_nothing(
        chat_layer, alice_client, bob, bobs_answers):
    conversation, (bobs, _) = bobs_answers
    tab, _ = await open_chat(bob, conversation.id)
    try:
        response = await put(alice_client, bobs, rating="down")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert (await alice_client.delete(url(bobs))).status_code == 404
        assert (await alice_client.get(f"/api/conversations/{conversation.id}/feedback/")).json() == {"items": {}}
        assert await tab.receive_nothing(timeout=0.3)
    finally:
        await tab.disconnect()
    assert not await Feedback.objects.aexists()


async def test_bad_input_is_422(alice_client, answers):
    _, (answer, _) = answers
    for body in ({"rating": "sideways"}, {"rating": "up", "reason": "unsafe"}, {"rating": "up", "extra": 1},
                 {"rating": "down", "comment": "x" * 2001}):
        response = await put(alice_client, answer, **body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "invalid"


async def test_anonymous_is_401(answers):
    _, (answer, _) = answers
    response = await put(AsyncClient(), answer, rating="up")
    assert response.status_code == 401
