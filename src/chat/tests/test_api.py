"""The HTTP API's conversation routes: auth, ownership, CSRF, detail, rename, delete, export.

Requests go through Django's test client to the real views. `transaction=True`: the views
use database_sync_to_async, which closes the connection a plain test transaction needs.
"""
import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chat.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)

# The contract's Conversation fields and this project's additions (docs/api.md).
CONVERSATION_KEYS = {"id", "title", "created_at", "updated_at", "active_leaf_id", "pinned", "archived", "folder_id",
                     "model", "system_prompt", "temperature"}


@pytest.fixture
def alice(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def bob(other_user):
    client = Client()
    client.force_login(other_user)
    return client


def make_conversation(owner, title="Trip to Lisbon", messages=(), when=None):
    when = when or timezone.now()
    conversation = Conversation.objects.create(owner=owner, title=title, created_at=when, updated_at=when)
    question = tip = None  # one branch: each question follows the message before it
    for offset, (role, content, *rest) in enumerate(messages):
        extra = rest[0] if rest else {}
        message = Message.objects.create(
            conversation=conversation, role=role, content=content,
            parent=question if role == "assistant" else tip,
            created_at=when + timedelta(seconds=offset), **extra,
        )
        tip = message
        if role == "user":
            question = message
    if tip is not None:
        Conversation.objects.filter(id=conversation.id).update(active_leaf=tip)
        conversation.active_leaf = tip
    return conversation


def call(client, method, path, body=None, **extra):
    """A request with a JSON body for unsafe methods (GET takes none)."""
    if method == "get":
        return client.get(path, **extra)
    return getattr(client, method)(path, json.dumps(body or {}), content_type="application/json", **extra)


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    return body["error"]


def patch(client, path, body, **extra):
    return client.patch(path, json.dumps(body), content_type="application/json", **extra)


# --- auth and ownership ----------------------------------------------------------------------
ROUTES = [
    ("get", "/api/me/"),
    ("get", "/api/conversations/"),
    ("get", "/api/conversations/{id}/"),
    ("patch", "/api/conversations/{id}/"),
    ("delete", "/api/conversations/{id}/"),
    ("get", "/api/conversations/{id}/export/?format=json"),
    ("post", "/api/conversations/{id}/messages/"),
    ("post", "/api/conversations/{id}/stop/"),
]


@pytest.mark.parametrize("method,path", ROUTES)
def test_anonymous_gets_401_json(user, method, path):
    conversation = make_conversation(user)
    body = {"title": "x"} if method == "patch" else {"content": "hi"}
    response = call(Client(), method, path.format(id=conversation.id), body)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthenticated"


@pytest.mark.parametrize("method,path", ROUTES[2:])
def test_another_users_conversation_is_404_never_403(user, bob, method, path):
    conversation = make_conversation(user, messages=[("user", "secret plans")])
    body = {"title": "mine"} if method == "patch" else {"content": "hi"}
    response = call(bob, method, path.format(id=conversation.id), body)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert b"secret" not in response.content
    conversation.refresh_from_db()
    assert conversation.title == "Trip to Lisbon" and conversation.messages.count() == 1


@pytest.mark.parametrize("method,path", ROUTES[2:6])
def test_unknown_or_malformed_id_is_404(alice, method, path):
    for ident in (uuid.uuid4(), "not-a-uuid"):
        body = {"title": "x"}
        response = call(alice, method, path.format(id=ident), body)
        assert response.status_code == 404, (ident, response.content)
        assert error_of(response)["code"] == "not_found"


def test_me(alice):
    response = alice.get("/api/me/")
    assert (response.status_code, response.json()) == (200, {"username": "alice"})


@pytest.mark.parametrize("method,path", [("patch", "/api/conversations/{id}/"),
                                         ("delete", "/api/conversations/{id}/"),
                                         ("post", "/api/conversations/{id}/messages/"),
                                         ("post", "/api/conversations/{id}/stop/")])
def test_unsafe_methods_need_the_csrf_token(user, method, path):
    conversation = make_conversation(user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    body = json.dumps({"title": "Renamed"} if method == "patch" else {"content": "hi"})
    url = path.format(id=conversation.id)
    refused = getattr(client, method)(url, body, content_type="application/json")
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "csrf_failed"
    assert Conversation.objects.filter(id=conversation.id, title="Trip to Lisbon").exists()
    assert not Message.objects.exists()
    # A cookie without the header, or a wrong header, is refused too.
    token = "k" * 32
    client.cookies["csrftoken"] = token
    assert getattr(client, method)(url, body, content_type="application/json").status_code == 403
    wrong = getattr(client, method)(url, body, content_type="application/json", HTTP_X_CSRFTOKEN="w" * 32)
    assert wrong.status_code == 403
    # With the token, the same request goes through (rename and stop here).
    if method == "patch" or path.endswith("stop/"):
        accepted = getattr(client, method)(url, body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
        assert accepted.status_code in (200, 202), accepted.content


def test_safe_methods_need_no_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/conversations/").status_code == 200


# --- detail ----------------------------------------------------------------------------------
def test_detail_has_the_contract_shapes(user, alice):
    conversation = make_conversation(user, messages=[
        ("user", "Hello <b>there</b>", {"client_id": "c1"}),
        ("assistant", "Hi!", {"reasoning": "Greet back.", "model": "demo", "input_tokens": 3, "output_tokens": 2}),
    ])
    response = alice.get(f"/api/conversations/{conversation.id}/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"conversation", "messages"}
    # The contract's fields and the tree's addition.
    assert set(body["conversation"]) == CONVERSATION_KEYS
    assert body["conversation"]["id"] == str(conversation.id)
    question, answer = body["messages"]
    assert set(question) == {"id", "conversation_id", "role", "content", "reasoning", "status", "seq", "error",
                             "model", "usage", "client_id", "parent_id", "created_at", "context_omitted"}
    assert (question["content"], question["client_id"], question["usage"]) == ("Hello <b>there</b>", "c1", None)
    assert (answer["parent_id"], answer["reasoning"], answer["usage"]) == (
        question["id"], "Greet back.", {"input_tokens": 3, "output_tokens": 2})


def test_detail_marks_an_orphaned_streaming_answer_interrupted(user, alice):
    conversation = make_conversation(user, messages=[
        ("user", "Hi"), ("assistant", "Partial", {"status": "streaming", "seq": 1}),
    ])
    messages = alice.get(f"/api/conversations/{conversation.id}/").json()["messages"]
    assert (messages[1]["status"], messages[1]["content"]) == ("interrupted", "Partial")


# --- rename ---------------------------------------------------------------------------------------
def test_rename_trims_and_returns_the_conversation(user, alice):
    conversation = make_conversation(user)
    response = patch(alice, f"/api/conversations/{conversation.id}/", {"title": "  Lisbon, day two  "})
    assert response.status_code == 200
    assert response.json()["title"] == "Lisbon, day two"
    assert set(response.json()) == CONVERSATION_KEYS
    conversation.refresh_from_db()
    assert conversation.title == "Lisbon, day two"


@pytest.mark.parametrize("body", [{"title": ""}, {"title": "   \n"}, {"title": "x" * 201}, {"title": 5},
                                  {"title": None}, {}, {"title": "ok", "extra": 1}, {"title": "nul\x00"}])
def test_rename_validation(user, alice, body):
    conversation = make_conversation(user)
    response = patch(alice, f"/api/conversations/{conversation.id}/", body)
    assert response.status_code == 422, response.content
    error = error_of(response)
    assert error["code"] == "invalid" and error["details"]
    conversation.refresh_from_db()
    assert conversation.title == "Trip to Lisbon"


def test_rename_accepts_200_characters_and_rejects_non_json(user, alice):
    conversation = make_conversation(user)
    assert patch(alice, f"/api/conversations/{conversation.id}/", {"title": "y" * 200}).status_code == 200
    broken = alice.patch(f"/api/conversations/{conversation.id}/", "{not json", content_type="application/json")
    assert broken.status_code == 400
    assert error_of(broken)["code"] == "bad_request"


# --- delete -------------------------------------------------------------------------------------------
def test_delete_removes_the_conversation_and_its_messages(user, other_user, alice):
    conversation = make_conversation(user, messages=[("user", "Hi"), ("assistant", "Hello")])
    kept = make_conversation(other_user, messages=[("user", "Mine")])
    response = alice.delete(f"/api/conversations/{conversation.id}/")
    assert (response.status_code, response.content) == (204, b"")
    assert not Conversation.objects.filter(id=conversation.id).exists()
    assert not Message.objects.filter(conversation_id=conversation.id).exists()
    assert Message.objects.filter(conversation=kept).count() == 1
    assert alice.delete(f"/api/conversations/{conversation.id}/").status_code == 404


# --- export ---------------------------------------------------------------------------------------------
def thoughtful(user):
    return make_conversation(user, title="Prime numbers", messages=[
        ("user", "Is 91 prime?"),
        ("assistant", "No: **91 = 7 × 13**.", {"reasoning": "Try 7: 7 × 13 = 91.", "model": "demo-1"}),
        ("user", "And 97?"),
        ("assistant", "Yes, 97 is", {"status": "stopped"}),
    ])


def test_export_markdown(user, alice):
    conversation = thoughtful(user)
    response = alice.get(f"/api/conversations/{conversation.id}/export/?format=markdown")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and 'filename="chat-prime-numbers-' in disposition
    assert disposition.endswith('.md"')
    text = response.content.decode()
    assert text.startswith("# Prime numbers\n")
    assert text.count("\n## You · ") == 2 and text.count("\n## Assistant · ") == 2
    assert "Is 91 prime?" in text and "No: **91 = 7 × 13**." in text
    # Reasoning folded away, before the answer it led to.
    details = text.index("<details>")
    assert text.index("<summary>Reasoning</summary>") > details
    assert details < text.index("Try 7: 7 × 13 = 91.") < text.index("</details>") < text.index("No: **91")
    assert "demo-1" in text and "stopped" in text
    assert text.count(timezone.now().strftime("%Y-%m-%d")) >= 4  # timestamps


def test_export_markdown_is_the_default(user, alice):
    conversation = thoughtful(user)
    response = alice.get(f"/api/conversations/{conversation.id}/export/")
    assert response["Content-Type"].startswith("text/markdown")


def test_export_json(user, alice):
    conversation = thoughtful(user)
    response = alice.get(f"/api/conversations/{conversation.id}/export/?format=json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Content-Disposition"].endswith('.json"')
    exported = json.loads(response.content)
    detail = alice.get(f"/api/conversations/{conversation.id}/").json()
    assert exported == detail  # the contract's shapes, the same as the detail endpoint
    assert [m["content"] for m in exported["messages"]][:2] == ["Is 91 prime?", "No: **91 = 7 × 13**."]


def test_export_of_a_non_ascii_title_downloads(user, alice):
    conversation = make_conversation(user, title="Ünïcödé 日本語 \"quotes\"", messages=[("user", "hi")])
    response = alice.get(f"/api/conversations/{conversation.id}/export/?format=markdown")
    assert response.status_code == 200
    assert 'filename="chat-unicode-' in response["Content-Disposition"]
    assert response.content.decode().startswith("# Ünïcödé 日本語 \"quotes\"")


def test_export_unknown_format_is_422(user, alice):
    conversation = make_conversation(user)
    response = alice.get(f"/api/conversations/{conversation.id}/export/?format=pdf")
    assert response.status_code == 422 and error_of(response)["code"] == "invalid"


# --- schema and docs --------------------------------------------------------------------------------------
def test_openapi_schema_and_docs_are_served(alice):
    schema = alice.get("/api/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/me/", "/api/conversations/", "/api/conversations/{conversation_id}/",
                 "/api/conversations/{conversation_id}/export/", "/api/conversations/{conversation_id}/messages/",
                 "/api/conversations/{conversation_id}/stop/"):
        assert path in paths, sorted(paths)
    assert "text/event-stream" in paths["/api/conversations/{conversation_id}/messages/"]["post"]["responses"]["200"]["content"]
    docs = alice.get("/api/docs")
    assert docs.status_code == 200 and b"openapi.json" in docs.content
