"""Bulk export (issue 11, item 5): every conversation of the user, a Markdown and a JSON file
each plus an index, streamed; the JSON files import back."""
import io
import json
import zipfile

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from chat.models import Conversation, Message
from sharing import bulk_export

from chat.tests.test_api import alice, bob  # noqa: F401 (fixtures: logged-in test clients)

from .test_import import FIXTURE, upload

pytestmark = pytest.mark.django_db(transaction=True)


def download(client) -> tuple[object, zipfile.ZipFile, int]:
    response = client.get("/api/export/")
    assert response.status_code == 200
    assert response.streaming and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="chats-')
    chunks = body(response)
    return response, zipfile.ZipFile(io.BytesIO(b"".join(chunks))), len(chunks)


def body(response) -> list[bytes]:
    """The chunks of a streamed (async) response, as a client receives them."""
    async def collect():
        return [chunk async for chunk in response.streaming_content]

    return async_to_sync(collect)()


def test_every_conversation_as_markdown_and_json_with_an_index(alice, bob, user, other_user, monkeypatch):
    monkeypatch.setattr(bulk_export, "BATCH", 2)  # several batches, so several chunks
    upload(alice, "conversations.json", FIXTURE.read_bytes())
    upload(bob, "conversations.json", FIXTURE.read_bytes())
    mine = Conversation.objects.create(owner=user, title="Trip to Lisbon")  # a second one of that title
    Message.objects.create(conversation=mine, role="user", content="Second trip?")

    _, archive, chunks = download(alice)
    assert chunks >= 3
    names = archive.namelist()
    assert names[-1] == "index.md"
    files = [n for n in names if n.startswith("conversations/")]
    assert len(files) == 8 and len(set(files)) == 8  # 4 conversations, no name written twice
    assert archive.testzip() is None
    index = archive.read("index.md").decode()
    assert "4 conversations" in index and index.count("](conversations/") == 8

    lisbon = [json.loads(archive.read(n)) for n in files if n.endswith(".json")]
    exported = {c["conversation"]["id"] for c in lisbon}
    assert exported == {str(c.id) for c in Conversation.objects.filter(owner=user)}  # only alice's
    full = next(c for c in lisbon if c["conversation"]["title"] == "Trip to Lisbon" and len(c["messages"]) == 7)
    markdown = archive.read(next(n for n in files if n.endswith(".md")
                                 and full["conversation"]["id"][:8] in n)).decode()
    assert "Pastéis de Belém" in markdown and "Try a tasca" not in markdown  # the shown branch
    assert "3 more on other branches" in markdown


def test_the_export_imports_back_into_another_account(alice, bob, other_user):
    upload(alice, "conversations.json", FIXTURE.read_bytes())
    response = alice.get("/api/export/")
    data = b"".join(body(response))
    job = upload(bob, "everything.zip", data)
    assert (job["status"], job["imported"]) == ("done", 3), job["error"]
    assert sorted(Conversation.objects.filter(owner=other_user).values_list("title", flat=True)) == [
        "Imported chat", "Sales chart", "Trip to Lisbon"]


def test_an_empty_account_exports_an_index_only_and_anonymous_is_refused(alice):
    _, archive, _ = download(alice)
    assert archive.namelist() == ["index.md"]
    assert Client().get("/api/export/").status_code == 401
