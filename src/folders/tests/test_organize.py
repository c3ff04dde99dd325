"""Pin, archive and folders (issue 11, items 1 and 2), through the HTTP API: filters of the
list, ownership (no other user's folders or conversations), folders deleted unfiled."""
import json
import uuid

import pytest

from chat.models import Conversation
from chat.tests.test_api import alice, bob, make_conversation  # noqa: F401,F811 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def patch(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def titles(client, **params) -> list[str]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.get(f"/api/conversations/?{query}")
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


@pytest.fixture
def three(user):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    return [make_conversation(user, title, [("user", f"about {title}")], when=now - timedelta(minutes=n))
            for n, title in enumerate(["Newest", "Middle", "Oldest"])]


def test_pin_and_archive_narrow_the_list_and_come_back(alice, three):
    newest, middle, oldest = three
    response = patch(alice, f"/api/conversations/{oldest.id}/", {"pinned": True})
    assert response.status_code == 200 and response.json()["pinned"] is True
    assert patch(alice, f"/api/conversations/{middle.id}/", {"archived": True}).json()["archived"] is True
    assert titles(alice) == ["Newest", "Middle", "Oldest"]  # without filters: as the contract says
    assert titles(alice, archived="false") == ["Newest", "Oldest"]  # the sidebar's list
    assert titles(alice, archived="true") == ["Middle"]  # the history page's archive filter
    assert titles(alice, pinned="true", archived="false") == ["Oldest"]
    assert titles(alice, q="middle") == ["Middle"]  # search still finds archived ones
    # Pinning again keeps the pin; unarchive puts it back.
    assert patch(alice, f"/api/conversations/{oldest.id}/", {"pinned": True}).json()["pinned"] is True
    assert patch(alice, f"/api/conversations/{middle.id}/", {"archived": False}).json()["archived"] is False
    assert titles(alice, archived="false") == ["Newest", "Middle", "Oldest"]
    assert patch(alice, f"/api/conversations/{oldest.id}/", {"pinned": None}).status_code == 422
    assert patch(alice, f"/api/conversations/{oldest.id}/", {}).status_code == 422


def test_folders_file_conversations_and_deleting_one_unfiles_them(alice, three):
    newest, middle, oldest = three
    work = post(alice, "/api/folders/", {"name": "  Work  ", "model": "demo", "system_prompt": "Be brief."})
    assert work.status_code == 201
    work = work.json()
    assert (work["name"], work["model"], work["system_prompt"], work["conversation_count"]) == ("Work", "demo", "Be brief.", 0)
    assert post(alice, "/api/folders/", {"name": "work"}).status_code == 400  # names are unique per user
    unknown = post(alice, "/api/folders/", {"name": "Other", "model": "no-such-model"})
    assert unknown.status_code == 400 and "not offered" in unknown.json()["error"]["message"]
    assert post(alice, "/api/folders/", {"name": " "}).status_code == 400
    trips = post(alice, "/api/folders/", {"name": "Trips"}).json()

    for conversation in (newest, oldest):
        response = patch(alice, f"/api/conversations/{conversation.id}/", {"folder_id": work["id"]})
        assert response.status_code == 200 and response.json()["folder_id"] == work["id"]
    assert titles(alice, folder=work["id"]) == ["Newest", "Oldest"]
    assert titles(alice, folder="none") == ["Middle"]
    assert titles(alice, folder=trips["id"]) == []
    assert alice.get("/api/conversations/?folder=nope").status_code == 422
    folders = alice.get("/api/folders/").json()
    assert [(f["name"], f["conversation_count"]) for f in folders] == [("Trips", 0), ("Work", 2)]

    renamed = patch(alice, f"/api/folders/{work['id']}/", {"name": "Job"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Job" and renamed.json()["model"] == "demo"
    assert patch(alice, f"/api/conversations/{newest.id}/", {"folder_id": None}).json()["folder_id"] is None
    assert alice.delete(f"/api/folders/{work['id']}/").status_code == 204
    assert titles(alice, folder="none") == ["Newest", "Middle", "Oldest"]  # kept, unfiled
    assert Conversation.objects.count() == 3
    assert alice.delete(f"/api/folders/{work['id']}/").status_code == 404


def test_no_other_users_folders_or_conversations(alice, bob, three, other_user):
    newest = three[0]
    bobs_folder = post(bob, "/api/folders/", {"name": "Bob's"}).json()
    bobs_chat = make_conversation(other_user, "Bob's chat", [("user", "hi")])
    refused = patch(alice, f"/api/conversations/{newest.id}/", {"folder_id": bobs_folder["id"], "pinned": True})
    assert refused.status_code == 400 and "not one of your folders" in refused.json()["error"]["message"]
    assert Conversation.objects.get(id=newest.id).pinned_at is None  # nothing of the request was done
    assert patch(alice, f"/api/conversations/{bobs_chat.id}/", {"archived": True}).status_code == 404
    assert patch(alice, f"/api/folders/{bobs_folder['id']}/", {"name": "Mine"}).status_code == 404
    assert alice.delete(f"/api/folders/{bobs_folder['id']}/").status_code == 404
    assert alice.get("/api/folders/").json() == []
    assert titles(alice, folder=bobs_folder["id"]) == []
    assert patch(alice, f"/api/conversations/{uuid.uuid4()}/", {"pinned": True}).status_code == 404
