"""The context sent upstream stays inside the model's window (issue 7, item 11).

Checked on what the loopback upstream received, through the real socket and LangChain client.
"""
import uuid

import pytest

from chat.models import Message
from llm import tokens
from tests.fake_upstream import Scenario

from .ws import open_chat, until_done

ANSWER = " ".join(f"fact{n}" for n in range(150))  # ~300 tokens


def test_count_uses_the_shipped_encoding_without_network():
    # cl100k_base's exact counts; the estimate would say 6 and 22.
    assert tokens.count("hello world") == 2
    assert tokens.count("The quick brown fox jumps over the lazy dog.") == 10
    assert tokens._encoding() is not None


def test_fit_drops_whole_turns_oldest_first_and_keeps_system_and_newest():
    chat = [("system", "Be brief."), ("user", "q1"), ("assistant", ANSWER), ("user", "q2"),
            ("user", "q3"), ("assistant", ANSWER), ("user", "q4")]
    assert tokens.fit(chat, 10_000) == (chat, 0)
    budget = tokens.needed([chat[0], *chat[3:]])  # exactly what fits without the first turn
    kept, omitted = tokens.fit(chat, budget)
    assert (kept, omitted) == ([chat[0], *chat[3:]], 2)
    kept, omitted = tokens.fit(chat, budget - 1)  # q2 alone is the next turn to go
    assert (kept, omitted) == ([chat[0], *chat[4:]], 3)
    kept, omitted = tokens.fit(chat, 1)  # nothing fits: system prompt and newest stay anyway
    assert (kept, omitted) == ([chat[0], chat[-1]], 5)


def test_a_long_text_far_back_is_counted_on_a_prefix_only():
    text = "word " * 140_000  # 700k characters
    assert tokens.count(text) == 140_001  # "word" and " word" each, and the last space
    assert 1000 < tokens.count(text, limit=1000) < 20_000  # over the limit: that is all fit needs
    assert tokens.count("hello world", limit=1) == 2  # short texts are counted exactly
    chat = [("user", "q1"), ("assistant", text), ("user", "q2"), ("assistant", "a2"), ("user", "q3")]
    assert tokens.fit(chat, 500) == ([("user", "q2"), ("assistant", "a2"), ("user", "q3")], 2)


pytestmark_db = pytest.mark.django_db(transaction=True)


@pytestmark_db
async def test_long_conversation_is_cut_to_the_budget_and_says_how_much_was_left_out(settings, llm, alice):
    settings.CHAT_SYSTEM_PROMPT = "You are terse."
    settings.LLM_CONTEXT_TOKENS, settings.LLM_OUTPUT_RESERVE = 1500, 300
    budget = 1200
    questions = [f"Question {n}?" for n in range(8)]
    llm.enqueue(*(Scenario.words(ANSWER) for _ in questions))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    created = done = None
    for question in questions:
        await socket.send_json_to({"type": "message.send", "content": question})
        frames = await until_done(socket)
        created = [f["message"] for f in frames if f["type"] == "message.created"][-1]
        done = frames[-1]["message"]
        assert done["status"] == "complete"

    full = [("system", "You are terse.")]
    for question in questions[:-1]:
        full += [("user", question), ("assistant", ANSWER)]
    full.append(("user", questions[-1]))
    sent = [(m["role"], m["content"]) for m in llm.requests[-1]["messages"]]
    assert sent[0] == ("system", "You are terse.") and sent[-1] == ("user", questions[-1])
    assert sent[1:] == full[len(full) - len(sent) + 1:]  # the newest turns, in order
    assert tokens.needed(sent) <= budget
    # As many turns as fit: one more would not.
    omitted = len(full) - len(sent)
    assert omitted >= 2 and omitted % 2 == 0
    assert tokens.needed([sent[0], *full[omitted - 1:omitted + 1], *sent[1:]]) > budget
    # Every request stayed inside the budget, and the first ones were whole.
    assert all(tokens.needed([(m["role"], m["content"]) for m in r["messages"]]) <= budget for r in llm.requests)
    assert len(llm.requests[0]["messages"]) == 2

    assert created["context_omitted"] == done["context_omitted"] == omitted
    answer = await Message.objects.filter(conversation_id=cid, role="assistant").alast()
    assert answer.context_omitted == omitted
    await socket.send_json_to({"type": "conversation.sync"})
    snapshot = await socket.receive_json_from(timeout=5)
    counts = [m["context_omitted"] for m in snapshot["messages"] if m["role"] == "assistant"]
    assert counts[0] == 0 and counts[-1] == omitted
    assert all(m["context_omitted"] == 0 for m in snapshot["messages"] if m["role"] == "user")

    llm.enqueue(Scenario.words("again"))
    await socket.send_json_to({"type": "message.regenerate"})
    regenerated = (await until_done(socket))[-1]["message"]
    assert regenerated["context_omitted"] == omitted
    assert [(m["role"], m["content"]) for m in llm.requests[-1]["messages"]] == sent
    await socket.disconnect()


@pytestmark_db
async def test_a_question_too_long_for_the_window_is_refused_and_not_stored(settings, llm, alice):
    settings.LLM_CONTEXT_TOKENS, settings.LLM_OUTPUT_RESERVE = 600, 100
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    # 2,000 tokens in 1,000 characters, well under CHAT_MAX_MESSAGE_CHARS: only the token budget refuses it.
    await socket.send_json_to({"type": "message.send", "content": "語" * 1000, "client_id": "big"})
    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"], frame["client_id"]) == ("error", "too_long", "big")
    assert "500" in frame["message"]
    assert llm.requests == []
    assert not await Message.objects.filter(conversation_id=cid).aexists()
    await socket.disconnect()


def test_a_text_is_counted_once_while_it_is_known(monkeypatch):
    """A send counts its conversation's earlier messages again; tiktoken is asked once per text."""
    real = tokens._encoding()
    asked = []

    class Counting:
        def encode(self, text, **options):
            asked.append(text)
            return real.encode(text, **options)

    monkeypatch.setattr(tokens, "_encoding", Counting)
    monkeypatch.setattr(tokens, "_known", tokens._Known())
    chat = [("user", "q1"), ("assistant", "an answer of some words"), ("user", "q2")]
    first = tokens.fit(chat, 10_000), tokens.needed(chat)
    calls = len(asked)
    assert calls and set(asked) == {"user", "assistant", "q1", "an answer of some words", "q2"}
    assert (tokens.fit(chat, 10_000), tokens.needed(chat)) == first
    assert len(asked) == calls  # nothing counted again
    assert tokens.count("hello world") == 2 and asked[-1] == "hello world"


def test_the_known_counts_stay_within_their_size():
    known = tokens._Known()
    known.MAX_CHARS = 100
    for n in range(30):
        known.put(f"text {n:04}", n)  # 9 characters each
    assert known.chars <= 100 and len(known.counts) == 11
    assert known.get("text 0000") is None and known.get("text 0029") == 29
    known.put("x" * 13, 5)  # longer than an eighth of the size: not kept
    assert known.get("x" * 13) is None


@pytestmark_db
async def test_an_answers_text_is_counted_once_stored_not_by_the_next_send(llm, alice, monkeypatch):
    """The next send of a conversation counts its earlier messages on the ORM thread every
    send waits for; an answer's text is counted on a thread of its own once stored."""
    import asyncio
    import threading

    real = tokens._encoding()
    counted: dict[str, list[str]] = {}

    class Counting:
        def encode(self, text, **options):
            counted.setdefault(text, []).append(threading.current_thread().name)
            return real.encode(text, **options)

    monkeypatch.setattr(tokens, "_encoding", Counting)
    monkeypatch.setattr(tokens, "_known", tokens._Known())
    answer = "a fresh answer, never counted before " + uuid.uuid4().hex
    llm.enqueue(Scenario.words(answer), Scenario.words("second"))
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": "First?"})
    assert (await until_done(socket))[-1]["message"]["content"] == answer
    async with asyncio.timeout(5):
        while answer not in counted:
            await asyncio.sleep(0.01)
    await socket.send_json_to({"type": "message.send", "content": "Second?"})
    await until_done(socket)
    assert len(counted[answer]) == 1 and counted[answer][0].startswith("tokens"), counted[answer]
    assert llm.requests[-1]["messages"][1] == {"role": "assistant", "content": answer}
    await socket.disconnect()
