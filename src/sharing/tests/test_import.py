"""Import (issue 11, item 4): ChatGPT's export and this app's own, through the real API and
its background thread; bad, hostile and oversized files import nothing."""
import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat import selectors, tree
from chat.models import Conversation, Message
from chat.tests.test_api import alice, bob  # noqa: F401 (fixtures: logged-in test clients)
from sharing import services

pytestmark = pytest.mark.django_db(transaction=True)

FIXTURE = Path(__file__).with_name("chatgpt_conversations.json")


def upload(client, name: str, data: bytes) -> dict:
    """Upload a file and wait for its import to end; the job as the API reports it."""
    response = client.post("/api/imports/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["status"] == "running" and job["filename"] == name
    services.wait_all()
    deadline = time.monotonic() + 10
    while job["status"] == "running" and time.monotonic() < deadline:
        job = client.get(f"/api/imports/{job['id']}/").json()
        time.sleep(0.05)
    return job


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tree_of(conversation) -> dict:
    """{content: parent content} of a conversation's messages."""
    return dict(Message.objects.filter(conversation=conversation).values_list("content", "parent__content"))


def test_chatgpt_export_comes_in_with_branches_titles_times_roles_and_models(alice, user):
    job = upload(alice, "conversations.json", FIXTURE.read_bytes())
    assert (job["status"], job["imported"], job["skipped"], job["error"]) == ("done", 3, 0, "")
    assert job["total"] == job["done"] == 3

    lisbon = Conversation.objects.get(owner=user, title="Trip to Lisbon")
    assert tree_of(lisbon) == {
        "Plan three days in Lisbon.": None,  # the hidden system message is left out
        "Day 1: Alfama. Day 2: Belém. Day 3: Sintra.": "Plan three days in Lisbon.",
        "A regenerated plan: LX Factory first.": "Plan three days in Lisbon.",
        "Where to eat on day 1?": "Day 1: Alfama. Day 2: Belém. Day 3: Sintra.",
        "Try a tasca in Alfama.": "Where to eat on day 1?",
        "Where to eat on day 2?": "Day 1: Alfama. Day 2: Belém. Day 3: Sintra.",
        "Pastéis de Belém, of course.": "Where to eat on day 2?",
    }
    assert lisbon.active_leaf.content == "Pastéis de Belém, of course."  # current_node
    assert lisbon.created_at.timestamp() == 1_760_000_000.0
    assert Message.objects.get(content="Pastéis de Belém, of course.").model == "gpt-4o-mini"
    assert set(Message.objects.filter(conversation=lisbon).values_list("status", flat=True)) == {"complete"}
    # The shown branch is what a new question would be answered with.
    question = Message.objects.get(content="Where to eat on day 2?")
    context = selectors.answer_context(conversation_id=lisbon.id, question=question, budget=10**6)
    assert context.messages == [("user", "Plan three days in Lisbon."),
                                ("assistant", "Day 1: Alfama. Day 2: Belém. Day 3: Sintra."),
                                ("user", "Where to eat on day 2?")]

    chart = Conversation.objects.get(owner=user, title="Sales chart")
    messages = list(Message.objects.filter(conversation=chart).order_by("created_at"))
    assert [(m.role, m.content) for m in messages] == [
        ("user", "[image]\n\nWhat does this chart show?"),  # image placeholder, null part skipped
        ("assistant", "```\nprint(1 + 1)\n```"),  # the code the model ran
        ("assistant", "The chart shows sales rising."),  # the tool's output left out, the tree kept
    ]
    assert messages[2].parent_id == messages[1].id and chart.active_leaf_id == messages[2].id

    handmade = Conversation.objects.get(owner=user, title="Imported chat")
    assert [m.content for m in Message.objects.filter(conversation=handmade)] == ["Hello?", "Hi!"]


def test_importing_the_same_file_twice_adds_nothing_and_a_deleted_one_comes_back(alice, user):
    data = zipped({"export/conversations.json": FIXTURE.read_bytes(), "export/chat.html": b"<html>"})
    assert upload(alice, "export.zip", data)["imported"] == 3
    again = upload(alice, "export.zip", data)
    assert (again["status"], again["imported"], again["skipped"]) == ("done", 0, 3)
    assert Conversation.objects.filter(owner=user).count() == 3
    Conversation.objects.filter(owner=user, title="Sales chart").delete()
    assert upload(alice, "conversations.json", FIXTURE.read_bytes())["imported"] == 1
    assert Conversation.objects.filter(owner=user).count() == 3


def test_another_user_imports_their_own_copy_and_cannot_see_jobs_of_others(alice, bob, user, other_user):
    job = upload(alice, "conversations.json", FIXTURE.read_bytes())
    assert upload(bob, "conversations.json", FIXTURE.read_bytes())["imported"] == 3
    assert Conversation.objects.filter(owner=other_user).count() == 3
    assert bob.get(f"/api/imports/{job['id']}/").status_code == 404
    assert Client().get(f"/api/imports/{job['id']}/").status_code == 401
    assert Client().post("/api/imports/", {"file": SimpleUploadedFile("c.json", b"[]")}).status_code == 401


def test_own_json_export_round_trips_with_its_tree(alice, user):
    job = upload(alice, "conversations.json", FIXTURE.read_bytes())
    lisbon = Conversation.objects.get(owner=user, title="Trip to Lisbon")
    exported = alice.get(f"/api/conversations/{lisbon.id}/export/?format=json").content
    # The user still has it: importing it back adds nothing.
    assert upload(alice, "lisbon.json", exported)["skipped"] == 1
    lisbon.delete()
    job = upload(alice, "lisbon.json", exported)
    assert (job["status"], job["imported"]) == ("done", 1)
    back = Conversation.objects.get(owner=user, title="Trip to Lisbon")
    assert tree_of(back)["Pastéis de Belém, of course."] == "Where to eat on day 2?"
    assert back.active_leaf.content == "Pastéis de Belém, of course."
    pairs = list(Message.objects.filter(conversation=back).values_list("id", "parent_id"))
    assert len(tree.path_up(dict(pairs), back.active_leaf_id)) == 4


def bomb() -> bytes:
    """A small zip whose one entry unpacks to 64 MiB (its header tells the truth here)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("conversations.json", "w", force_zip64=True) as entry:
            entry.write(b"[")
            for _ in range(64):
                entry.write(b" " * (1 << 20))
            entry.write(b"]")
    return buffer.getvalue()


def lying_bomb() -> bytes:
    """A zip whose header says 10 bytes but whose data unpacks to 8 MiB: the reader stops at
    the size the header claims, and the data then fails its check."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("conversations.json", b"[" + b" " * (8 << 20) + b"]")
    data = bytearray(buffer.getvalue())
    size = (8 << 20) + 2
    for offset in range(len(data) - 3):  # rewrite the uncompressed size in both headers
        if data[offset:offset + 4] == size.to_bytes(4, "little"):
            data[offset:offset + 4] = (10).to_bytes(4, "little")
    return bytes(data)


BAD_FILES = {
    "malformed": ("conversations.json", b'[{"title": "x", "mapping": {', "not valid JSON (line 1"),
    "truncated zip": ("export.zip", zipped({"conversations.json": FIXTURE.read_bytes()})[:400], "not a readable zip"),
    "not json": ("photo.json", b"\x89PNG\r\n\x1a\n\x00\x00", "not"),
    "wrong shape": ("conversations.json", b'{"hello": "world"}', "neither ChatGPT"),
    "dangling parent": ("conversations.json", json.dumps([{"title": "T", "mapping": {
        "a": {"id": "a", "message": None, "parent": "zzz", "children": []}}}]).encode(), "names a parent that is not"),
    "loop": ("conversations.json", json.dumps([{"title": "T", "mapping": {
        "a": {"id": "a", "message": None, "parent": "b", "children": ["b"]},
        "b": {"id": "b", "message": None, "parent": "a", "children": ["a"]}}}]).encode(), "form a loop"),
    "bad time": ("conversations.json", json.dumps([{"title": "T", "create_time": "yesterday", "mapping": {
        "a": {"id": "a", "message": None, "parent": None}}}]).encode(), "\"create_time\" is not a number"),
    "path traversal": ("export.zip", zipped({"../../etc/conversations.json": b"[]"}), "unsafe path name"),
    "absolute path": ("export.zip", zipped({"/tmp/conversations.json": b"[]"}), "unsafe path name"),
    "no conversations in zip": ("export.zip", zipped({"readme.txt": b"hi"}), "holds no conversations.json"),
    "zip bomb": ("export.zip", bomb(), "unpacks to more than"),
    "lying zip bomb": ("export.zip", lying_bomb(), "cannot be unpacked"),
    "own export, bad parent": ("c.json", json.dumps({"conversation": {"id": "c", "title": "t", "created_at": "2026-01-01T00:00:00Z"},
                                                     "messages": [{"id": "m", "parent_id": "nope", "role": "user",
                                                                   "created_at": "2026-01-01T00:00:00Z"}]}).encode(),
                               "message 1: \"parent_id\" names no message of the file"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_and_hostile_files_say_what_is_wrong_and_import_nothing(alice, user, settings, case):
    settings.CHAT_IMPORT_MAX_UNPACKED = 4 << 20
    name, data, says = BAD_FILES[case]
    # A good conversation first in the same file must not come in either: one transaction.
    if case in ("dangling parent", "loop", "bad time"):
        good = json.loads(FIXTURE.read_text())[:1]
        data = json.dumps(good + json.loads(data)).encode()
    job = upload(alice, name, data)
    assert job["status"] == "failed", job
    assert says in job["error"], job["error"]
    assert job["imported"] == 0
    assert Conversation.objects.filter(owner=user).count() == 0
    assert Message.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused_before_reading(alice, settings):
    settings.CHAT_IMPORT_MAX_BYTES = 1000
    response = alice.post("/api/imports/", {"file": SimpleUploadedFile("conversations.json", b" " * 1001)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large" and "1,000" in response.json()["error"]["message"]
    response = alice.post("/api/imports/", {})
    assert response.status_code == 422
