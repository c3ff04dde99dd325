"""Conversations as trees (issue 10, items 1, 2 and 5): edit, branch, switch, regenerate on
a branch; what goes upstream is exactly the shown branch, checked on what the loopback
upstream received through the real socket and LangChain client.
"""
import asyncio
import json
import uuid

import pytest

from chat import fanout, selectors, tree
from chat.export import shown_branch
from chat.models import Conversation, Message
from chat.state import get_store
from tests.fake_upstream import Scenario

from .test_api_sse import is_done, request, send
from .ws import frames_until, open_chat, until_done

pytestmark = pytest.mark.django_db(transaction=True)


def sent_upstream(llm) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in llm.requests[-1]["messages"]]


async def ask(socket, llm, content, answer, **fields) -> tuple[dict, dict]:
    """Send (with extra frame fields) and wait for the end: (question, answer) as stored."""
    llm.enqueue(Scenario.words(answer))
    await socket.send_json_to({"type": "message.send", "content": content, **fields})
    frames = await until_done(socket)
    created = [f["message"] for f in frames if f["type"] == "message.created"]
    assert frames[-1]["message"]["status"] == "complete", frames[-1]
    return created[0], frames[-1]["message"]


async def snapshot_of(socket) -> dict:
    await socket.send_json_to({"type": "conversation.sync"})
    return await frames_until(socket, lambda f: f["type"] == "conversation.snapshot")


async def active_leaf(cid) -> str | None:
    conversation = await Conversation.objects.aget(id=cid)
    return str(conversation.active_leaf_id) if conversation.active_leaf_id else None


async def two_turns(socket, llm):
    q1, a1 = await ask(socket, llm, "q1", "a1")
    q2, a2 = await ask(socket, llm, "q2", "a2")
    assert (q1["parent_id"], a1["parent_id"], q2["parent_id"], a2["parent_id"]) == (None, q1["id"], a1["id"], q2["id"])
    return q1, a1, q2, a2


async def test_edit_is_a_sibling_and_only_its_branch_goes_upstream(chat_layer, llm, alice):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    q1, a1, q2, a2 = await two_turns(socket, llm)
    assert sent_upstream(llm) == [("user", "q1"), ("assistant", "a1"), ("user", "q2")]

    q2b, a2b = await ask(socket, llm, "q2 edited", "a2b", parent_id=q2["parent_id"])
    assert q2b["parent_id"] == a1["id"] and a2b["parent_id"] == q2b["id"]
    assert sent_upstream(llm) == [("user", "q1"), ("assistant", "a1"), ("user", "q2 edited")]
    assert await active_leaf(cid) == a2b["id"]

    # Going on continues the shown branch (the edit's), never the other one.
    _, a3 = await ask(socket, llm, "q3", "a3")
    assert sent_upstream(llm) == [("user", "q1"), ("assistant", "a1"), ("user", "q2 edited"),
                                  ("assistant", "a2b"), ("user", "q3")]
    frames = await snapshot_of(socket)
    snapshot = frames[-1]
    assert snapshot["conversation"]["active_leaf_id"] == a3["id"]
    assert len(snapshot["messages"]) == 8  # every branch is in the snapshot
    await socket.disconnect()


async def test_editing_the_first_message_starts_a_new_root(chat_layer, llm, alice):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    await two_turns(socket, llm)
    q1b, _ = await ask(socket, llm, "q1 edited", "fresh", parent_id=None)
    assert q1b["parent_id"] is None
    assert sent_upstream(llm) == [("user", "q1 edited")]
    await socket.disconnect()


async def test_switch_then_send_and_regenerate_on_a_branch(chat_layer, llm, alice):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    q1, a1, q2, a2 = await two_turns(socket, llm)
    await ask(socket, llm, "q2 edited", "a2b", parent_id=a1["id"])

    # Back to the first version of q2: the branch ends at its newest descendant, a2.
    await socket.send_json_to({"type": "branch.switch", "message_id": q2["id"]})
    updated = (await frames_until(socket, lambda f: f["type"] == "conversation.updated"))[-1]
    assert updated["conversation"]["active_leaf_id"] == a2["id"]

    # Regenerate answers the shown branch's last question, with that branch as context.
    llm.enqueue(Scenario.words("a2 again"))
    await socket.send_json_to({"type": "message.regenerate"})
    frames = await until_done(socket)
    again = frames[-1]["message"]
    assert again["parent_id"] == q2["id"]
    assert sent_upstream(llm) == [("user", "q1"), ("assistant", "a1"), ("user", "q2")]

    # A send follows the shown answer (the regenerated one), not a2 nor the edit.
    q3, _ = await ask(socket, llm, "q3", "a3")
    assert q3["parent_id"] == again["id"]
    assert sent_upstream(llm) == [("user", "q1"), ("assistant", "a1"), ("user", "q2"),
                                  ("assistant", "a2 again"), ("user", "q3")]

    # Regenerate a named earlier answer: its question is answered again with its own path.
    llm.enqueue(Scenario.words("a1 again"))
    await socket.send_json_to({"type": "message.regenerate", "message_id": a1["id"]})
    regenerated = (await until_done(socket))[-1]["message"]
    assert regenerated["parent_id"] == q1["id"]
    assert sent_upstream(llm) == [("user", "q1")]
    assert await active_leaf(cid) == regenerated["id"]
    await socket.disconnect()


async def test_a_switch_shows_in_every_tab(chat_layer, llm, alice):
    cid = uuid.uuid4()
    tab, _ = await open_chat(alice, cid)
    q1, a1, q2, a2 = await two_turns(tab, llm)
    q2b, a2b = await ask(tab, llm, "q2 edited", "a2b", parent_id=a1["id"])
    other, snapshot = await open_chat(alice, cid)
    assert snapshot["conversation"]["active_leaf_id"] == a2b["id"]

    await tab.send_json_to({"type": "branch.switch", "message_id": a2["id"]})
    seen = (await frames_until(other, lambda f: f["type"] == "conversation.updated"))[-1]
    assert seen["conversation"]["active_leaf_id"] == a2["id"]
    # A reload shows the same branch.
    third, snapshot = await open_chat(alice, cid)
    assert snapshot["conversation"]["active_leaf_id"] == a2["id"]
    for socket in (tab, other, third):
        await socket.disconnect()


@pytest.mark.parametrize("parent", ["question", "unknown", "not-a-uuid", "bobs", 7])
async def test_a_parent_that_is_no_answer_here_is_refused_and_stores_nothing(llm, user, alice, bob, parent):
    cid, bob_cid = uuid.uuid4(), uuid.uuid4()
    bobs_socket, _ = await open_chat(bob, bob_cid)
    _, bobs_answer = await ask(bobs_socket, llm, "bob's", "bob's answer")
    socket, _ = await open_chat(alice, cid)
    q1, _ = await ask(socket, llm, "q1", "a1")
    parent_id = {"question": q1["id"], "unknown": str(uuid.uuid4()), "bobs": bobs_answer["id"]}.get(parent, parent)
    before = await Message.objects.filter(conversation_id=cid).acount()
    live_before = set(await get_store().stale(-3600))  # every answer with live state (other tests' too)
    await socket.send_json_to({"type": "message.send", "content": "hi", "parent_id": parent_id, "client_id": "c9"})
    error = await socket.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "bad_request" and error["client_id"] == "c9"
    assert "parent_id" in error["message"]
    assert await Message.objects.filter(conversation_id=cid).acount() == before
    # The answer's live state and stop listener, set up while the send was being stored, are gone.
    assert fanout.stop_group(user.pk, cid) not in fanout.get_hub().listeners
    assert set(await get_store().stale(-3600)) == live_before
    # Regenerating or switching to a message of another conversation is refused too.
    for frame in ({"type": "message.regenerate", "message_id": bobs_answer["id"]},
                  {"type": "branch.switch", "message_id": bobs_answer["id"]},
                  {"type": "branch.switch", "message_id": "nope"},
                  {"type": "branch.switch"}):
        await socket.send_json_to(frame)
        error = await socket.receive_json_from(timeout=5)
        assert (error["type"], error["code"]) == ("error", "bad_request"), frame
    assert await Message.objects.filter(conversation_id=cid).acount() == before
    assert await Message.objects.filter(conversation_id=bob_cid).acount() == 2
    for s in (socket, bobs_socket):
        await s.disconnect()


async def test_concurrent_edits_from_two_tabs_one_wins_the_other_is_busy(llm, alice):
    cid = uuid.uuid4()
    first, _ = await open_chat(alice, cid)
    q1, a1, q2, a2 = await two_turns(first, llm)
    second, _ = await open_chat(alice, cid)
    llm.enqueue(Scenario.words("slow " * 30, delay=0.02), Scenario.words("never"))
    await asyncio.gather(
        first.send_json_to({"type": "message.send", "content": "edit A", "parent_id": a1["id"], "client_id": "A"}),
        second.send_json_to({"type": "message.send", "content": "edit B", "parent_id": a1["id"], "client_id": "B"}),
    )
    outcomes = []
    for socket, client_id in ((first, "A"), (second, "B")):
        frames = await frames_until(socket, lambda f, c=client_id: f["type"] == "error" and f.get("client_id") == c
                                    or f["type"] == "message.done")
        outcomes.append(frames[-1]["type"])
    assert sorted(outcomes) == ["error", "message.done"]
    edits = [m async for m in Message.objects.filter(conversation_id=cid, parent_id=a1["id"])]
    assert len(edits) == 2  # q2 and the one edit that won; the busy one stored nothing
    for socket in (first, second):
        await socket.disconnect()


async def test_the_http_api_follows_the_tree(llm, alice):
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    q1, a1, q2, a2 = await two_turns(socket, llm)
    llm.enqueue(Scenario.words("a2 over http"))
    response = await send(cid, alice, "q2 by http", parent_id=a1["id"])
    assert response.status == 200
    events = await response.events_until(is_done)
    assert events[-1][1]["message"]["content"] == "a2 over http"
    await response.body()
    assert sent_upstream(llm) == [("user", "q1"), ("assistant", "a1"), ("user", "q2 by http")]
    refused = await send(cid, alice, "q", parent_id=q1["id"])
    assert refused.status == 400 and (await refused.json())["error"]["code"] == "bad_request"

    switched = await request("POST", f"/api/conversations/{cid}/branch/", alice, {"message_id": q2["id"]})
    assert switched.status == 200 and (await switched.json())["active_leaf_id"] == a2["id"]
    seen = (await frames_until(socket, lambda f: f["type"] == "conversation.updated"))[-1]
    assert seen["conversation"]["active_leaf_id"] == a2["id"]
    unknown = await request("POST", f"/api/conversations/{cid}/branch/", alice, {"message_id": str(uuid.uuid4())})
    assert unknown.status == 400
    other = await request("POST", f"/api/conversations/{uuid.uuid4()}/branch/", alice, {"message_id": q2["id"]})
    assert other.status == 404

    detail = await (await request("GET", f"/api/conversations/{cid}/", alice)).json()
    assert detail["conversation"]["active_leaf_id"] == a2["id"] and len(detail["messages"]) == 6
    # Markdown shows the shown branch; JSON holds the whole tree.
    markdown = (await (await request("GET", f"/api/conversations/{cid}/export/", alice)).body()).decode()
    assert "\nq2\n" in markdown and "q2 by http" not in markdown and "2 more on other branches" in markdown
    exported = json.loads(await (await request(
        "GET", f"/api/conversations/{cid}/export/?format=json", alice)).body())
    assert len(exported["messages"]) == 6 and exported["conversation"]["active_leaf_id"] == a2["id"]
    # Search finds text on every branch, shown or not.
    found = await (await request("GET", "/api/conversations/?q=by%20http", alice)).json()
    assert [item["id"] for item in found["items"]] == [str(cid)]
    await socket.disconnect()


def test_context_of_a_deep_tree_is_the_path_only(db, user):
    """20 branches, 500 messages: each question's context is exactly its own path."""
    conversation = Conversation.objects.create(owner=user, title="tree")
    rows, expected = build_tree(conversation, branches=20, messages=500)
    assert Message.objects.filter(conversation=conversation).count() == 500
    by_id = {m.id: m for m in rows}
    for question in [m for m in rows if m.role == "user"][::7]:
        context = selectors.answer_context(conversation_id=conversation.id, question=question, budget=10**9)
        assert context.messages == expected[question.id]
        ids = tree.path_up({m.id: m.parent_id for m in rows}, question.id)
        assert all(by_id[i].content in {c for _, c in context.messages} for i in ids)


def build_tree(conversation, *, branches: int, messages: int):
    """A conversation of `messages` messages in `branches` branches: a trunk, then edits of
    questions along it, each growing its own turns. Returns the rows and, per question,
    the context it must get (its path, oldest first)."""
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    rows: list[Message] = []
    path_of: dict = {}
    expected: dict = {}

    def add(role, content, parent):
        message = Message(conversation=conversation, role=role, content=content, parent=parent,
                          created_at=now + timedelta(milliseconds=len(rows)))
        rows.append(message)
        path_of[message.id] = ([*path_of[parent.id]] if parent else []) + [(role, content)]
        if role == "user":
            expected[message.id] = path_of[message.id]
        return message

    per_branch = messages // branches // 2  # turns per side branch; the trunk takes the rest
    trunk = []
    parent = None
    for turn in range((messages - (branches - 1) * per_branch * 2) // 2):
        question = add("user", f"Trunk question {turn}?", parent)
        parent = add("assistant", f"b0 a{turn}", question)
        trunk.append(question)
    for branch in range(1, branches):
        fork = trunk[(branch * 3) % len(trunk)]  # edit a trunk question
        parent = fork.parent
        for turn in range(per_branch):
            question = add("user", f"Branch {branch} question {turn}?", parent)
            parent = add("assistant", f"b{branch} a{turn}", question)
    Message.objects.bulk_create(rows)
    Conversation.objects.filter(id=conversation.id).update(active_leaf=rows[-1])
    return rows, expected


def test_places_and_paths_of_a_small_tree():
    pairs = [("q1", None), ("a1", "q1"), ("q2", "a1"), ("a2", "q2"), ("q2b", "a1"), ("a2b", "q2b"), ("a2c", "q2b")]
    assert tree.path_up(dict(pairs), "a2c") == ["a2c", "q2b", "a1", "q1"]
    assert tree.newest_leaf(pairs, "q1") == "a2c" and tree.newest_leaf(pairs, "q2") == "a2"
    assert tree.newest_leaf(pairs, "zz") is None
    assert tree.shown_tip(pairs, None) == "a2c" and tree.shown_tip(pairs, "a2") == "a2"
    places = tree.places(pairs)
    assert places["q2"] == (2, 1, 2) and places["q2b"] == (2, 2, 2) and places["a2c"] == (3, 2, 2)
    assert places["q1"] == (0, 1, 1)
    # A cycle in bad rows cannot hang a walk.
    assert len(tree.path_up({"x": "y", "y": "x"}, "x")) <= 3
    assert tree.parents_first({"c": "b", "b": "a", "a": None, "d": "a"}) == ["a", "b", "d", "c"]
    assert tree.parents_first({"x": "y", "y": "x"}) is None and tree.parents_first({"x": "gone"}) is None
    conversation = {"active_leaf_id": "a2"}
    messages = [{"id": i, "parent_id": p} for i, p in pairs]
    assert [m["id"] for m in shown_branch(conversation, messages)] == ["q1", "a1", "q2", "a2"]


def test_flat_conversations_from_before_the_tree_are_migrated(user):
    """Each question follows the latest answer of the one before (what was shown and sent
    upstream); the shown branch ends at the last question's latest answer."""
    from datetime import timedelta

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    executor = MigrationExecutor(connection)
    executor.migrate([("chat", "0004_message_context_omitted")])
    apps = executor.loader.project_state([("chat", "0004_message_context_omitted")]).apps
    OldConversation, OldMessage = apps.get_model("chat", "Conversation"), apps.get_model("chat", "Message")
    now = timezone.now()
    conversation = OldConversation.objects.create(owner_id=user.pk, title="old")
    empty = OldConversation.objects.create(owner_id=user.pk, title="empty")
    made = {}

    def add(name, role, parent=None):
        made[name] = OldMessage.objects.create(conversation=conversation, role=role, content=name,
                                               parent=made.get(parent), created_at=now + timedelta(seconds=len(made)))

    add("q1", "user"), add("a1", "assistant", "q1"), add("a1 again", "assistant", "q1")
    add("q2", "user"), add("a2", "assistant", "q2"), add("q3", "user")  # q3's answer was never stored
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    parent = dict(Message.objects.filter(conversation_id=conversation.id).values_list("content", "parent__content"))
    assert parent == {"q1": None, "a1": "q1", "a1 again": "q1", "q2": "a1 again", "a2": "q2", "q3": "a2"}
    migrated = Conversation.objects.get(id=conversation.id)
    assert migrated.active_leaf.content == "q3"
    assert Conversation.objects.get(id=empty.id).active_leaf is None
    question = Message.objects.get(content="q3")
    context = selectors.answer_context(conversation_id=conversation.id, question=question, budget=10**9)
    assert context.messages == [("user", "q1"), ("assistant", "a1 again"), ("user", "q2"),
                                ("assistant", "a2"), ("user", "q3")]


def test_the_admin_shows_the_whole_tree_readably(admin_client, user):
    conversation = Conversation.objects.create(owner=user, title="tree")
    build_tree(conversation, branches=3, messages=12)
    page = admin_client.get(f"/admin/chat/conversation/{conversation.id}/change/").content.decode()
    assert "Branch 1 question 0?" in page and "Branch 2 question 0?" in page  # every branch
    # Branch 2 edits the first question: the second of two first messages.
    assert page.count("depth 1 · version 2 of 2 · shown") == 1
    # The shown branch (the last one built: two turns) is marked on each of its messages.
    assert page.count(" · shown") == 4
