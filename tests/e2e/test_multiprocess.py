"""With REDIS_URL set, two Daphne processes sharing Redis and PostgreSQL behave as one.

Real processes (`daphne config.asgi:application`), a real WebSocket client, the fake
OpenAI-compatible upstream on loopback. See conftest.py for what is created and removed.
"""
import asyncio
import random
import time
import uuid

import httpx
import psycopg
import pytest

from tests.fake_upstream import Scenario, split_words

from .conftest import USERNAME
from .servers import login
from .tabs import answer_of, deltas, is_answer_done, open_tab, stream_frames, summary

pytestmark = pytest.mark.e2e

STALE_AFTER = 3  # CHAT_STALE_AFTER of every process (servers.base_env)
LONG_TEXT = " ".join(f"token{n}" for n in range(200))


def send(content: str = "Hello there") -> dict:
    return {"type": "message.send", "content": content}


def stored_answer(database_url: str, message_id: str) -> tuple[str, str, str]:
    """(status, content, reasoning) of a message row, read straight from PostgreSQL."""
    with psycopg.connect(database_url) as db:
        row = db.execute(
            "SELECT status, content, reasoning FROM chat_message WHERE id = %s", (message_id,)
        ).fetchone()
    assert row is not None, f"no message {message_id}"
    return row


async def wait_for_deltas(tab, count: int, timeout: float = 10) -> list[dict]:
    seen: list[dict] = []

    def enough(frame):
        if frame["type"] == "message.delta":
            seen.append(frame)
        return len(seen) >= count

    return await tab.until(enough, timeout)


# --- one stream, every process --------------------------------------------------------------
async def test_second_tab_on_other_process_sees_the_same_stream(pair, session_id, upstream):
    a, b = pair
    scenario = Scenario.words("A streamed answer that both tabs see, token by token, in order.",
                              reasoning=split_words("Think first, then answer."), delay=0.01)
    upstream.enqueue(scenario)
    cid = uuid.uuid4()
    tab_a, _ = await open_tab(a, cid, session_id)
    tab_b, _ = await open_tab(b, cid, session_id)
    await tab_a.send(send("Say something to both tabs"))
    seen_a, seen_b = await asyncio.gather(tab_a.until_done(), tab_b.until_done())
    await tab_a.close()
    await tab_b.close()

    assert stream_frames(seen_a) == stream_frames(seen_b)
    assert [f["type"] for f in seen_a if f["type"] == "message.created"] == ["message.created"] * 2
    done = seen_a[-1]["message"]
    assert done["status"] == "complete"
    assert done["content"] == scenario.text
    assert done["reasoning"] == scenario.reasoning_text
    answer_deltas = deltas(seen_a, done["id"])
    assert [d["seq"] for d in answer_deltas] == list(range(1, len(answer_deltas) + 1))
    assert "".join(d["delta"] for d in answer_deltas if d["part"] == "content") == scenario.text


async def test_an_edit_and_a_branch_switch_on_one_process_show_on_the_other(pair, session_id, upstream):
    """Conversation trees across processes: the edit's answer streams to a tab on the other
    process, and a switch made on one process moves the shown branch of the other's tab."""
    a, b = pair
    cid = uuid.uuid4()
    tab_a, _ = await open_tab(a, cid, session_id)
    tab_b, _ = await open_tab(b, cid, session_id)
    upstream.enqueue(Scenario.words("first answer"), Scenario.words("answer to the edit"))
    await tab_a.send(send("first question"))
    first = (await tab_a.until_done())[-1]["message"]
    await tab_b.until_done()
    question_id = first["parent_id"]
    await tab_a.send({"type": "message.send", "content": "first question, edited", "parent_id": None})
    edited = (await tab_b.until_done())[-1]["message"]
    assert edited["content"] == "answer to the edit" and edited["parent_id"] != question_id
    await tab_a.until_done()

    await tab_b.send({"type": "branch.switch", "message_id": question_id})
    seen = await tab_a.until(lambda f: f["type"] == "conversation.updated")
    assert seen[-1]["conversation"]["active_leaf_id"] == first["id"]
    await tab_a.close()
    await tab_b.close()
    upstream_contexts = [[m["content"] for m in request["messages"]] for request in upstream.requests[-2:]]
    assert upstream_contexts == [["first question"], ["first question, edited"]]


async def test_stop_on_other_process_ends_the_answer_within_a_second(pair, session_id, upstream):
    a, b = pair
    scenario = Scenario.words(LONG_TEXT, delay=0.02)  # 200 tokens, ~4 s
    upstream.enqueue(scenario)
    cid = uuid.uuid4()
    tab_a, _ = await open_tab(a, cid, session_id)
    tab_b, _ = await open_tab(b, cid, session_id)
    await tab_a.send(send("Write a lot"))  # the answer runs on A
    await wait_for_deltas(tab_b, 3)
    await tab_b.send({"type": "generation.stop"})
    asked = time.monotonic()
    seen_a, seen_b = await asyncio.gather(tab_a.until_done(timeout=5), tab_b.until_done(timeout=5))
    elapsed = time.monotonic() - asked
    await tab_a.close()
    await tab_b.close()

    assert elapsed < 1.0, f"stop took {elapsed:.2f} s"
    done_a, done_b = seen_a[-1]["message"], seen_b[-1]["message"]
    assert done_a == done_b
    assert done_a["status"] == "stopped"
    assert done_a["content"], "the partial text is kept"
    assert scenario.text.startswith(done_a["content"])
    assert len(done_a["content"]) < len(scenario.text)
    assert await upstream.async_wait_for_client_close(timeout=2), "the upstream request was not closed"
    status, content, _ = stored_answer(a.env["DATABASE_URL"], done_a["id"])
    assert (status, content) == ("stopped", done_a["content"])


async def test_reconnect_to_other_process_resumes_without_gap(pair, session_id, upstream):
    """Cut the socket on A at random points mid-answer, resume on B from snapshot + deltas."""
    a, b = pair
    rng = random.Random(20261121)
    reasoning = split_words(" ".join(f"thought{n}" for n in range(40)))
    content = split_words(" ".join(f"word{n}" for n in range(80)))
    for cut in range(8):
        scenario = Scenario(content=content, reasoning=reasoning, delay=0.01)  # ~1.2 s
        upstream.enqueue(scenario)
        cid = uuid.uuid4()
        tab_a, _ = await open_tab(a, cid, session_id)
        await tab_a.send(send(f"cut {cut}"))
        created = await tab_a.until(
            lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant"
        )
        answer_id = created[-1]["message"]["id"]
        try:  # read whatever arrives before the cut
            await tab_a.until(is_answer_done, timeout=rng.uniform(0.05, 1.1))
        except TimeoutError:
            pass
        await tab_a.close()
        await asyncio.sleep(rng.uniform(0, 0.2))

        tab_b, snapshot = await open_tab(b, cid, session_id)
        answer = answer_of(snapshot)
        assert answer["id"] == answer_id
        text = {"content": answer["content"], "reasoning": answer["reasoning"]}
        seq = answer["seq"]
        if answer["status"] == "streaming":
            frames = await tab_b.until_done()
            for delta in deltas(frames, answer_id):
                if delta["seq"] <= seq:
                    continue
                assert delta["seq"] == seq + 1, f"cut {cut}: gap after seq {seq}: {summary(frames)}"
                text[delta["part"]] += delta["delta"]
                seq = delta["seq"]
            final = frames[-1]["message"]
        else:
            final = answer
        await tab_b.close()

        assert final["status"] == "complete", f"cut {cut}: {final['status']}"
        assert text == {"content": final["content"], "reasoning": final["reasoning"]}, f"cut {cut}"
        assert text == {"content": scenario.text, "reasoning": scenario.reasoning_text}, f"cut {cut}"
        assert stored_answer(a.env["DATABASE_URL"], answer_id) == ("complete", scenario.text, scenario.reasoning_text)


# --- dying processes ------------------------------------------------------------------------------
async def test_answer_of_a_killed_process_becomes_interrupted(pair, launch, session_id, upstream):
    _, b = pair
    doomed = launch("doomed")
    doomed.wait_ready()
    scenario = Scenario.words(LONG_TEXT, delay=0.02)
    upstream.enqueue(scenario)
    cid = uuid.uuid4()
    tab, _ = await open_tab(doomed, cid, session_id)
    await tab.send(send("Start an answer, then die"))
    await wait_for_deltas(tab, 5)
    doomed.kill()
    killed = time.monotonic()

    watcher, snapshot = await open_tab(b, cid, session_id)
    answer = answer_of(snapshot)
    while answer["status"] == "streaming":
        assert time.monotonic() - killed < STALE_AFTER + 5, "still streaming long after the kill"
        await asyncio.sleep(0.5)
        answer = answer_of(await watcher.sync())
    assert answer["status"] == "interrupted"
    assert answer["content"], "the partial text is kept"
    assert scenario.text.startswith(answer["content"])

    # Not busy forever: the conversation takes a new message on the surviving process.
    upstream.enqueue(Scenario.words("Back again."))
    await watcher.send(send("Are you there?"))
    # (the interrupted answer's own message.done, published by the repair, may come first)
    frames = await watcher.until(lambda f: is_answer_done(f) and f["message"]["id"] != answer["id"])
    assert not [f for f in frames if f["type"] == "error"], summary(frames)
    assert frames[-1]["message"]["status"] == "complete"
    assert frames[-1]["message"]["content"] == "Back again."
    await watcher.close()


async def test_restarted_single_process_marks_its_orphans_interrupted(launch, upstream):
    """No Redis: one process; after a crash, start-up recovery in config/asgi.py repairs rows."""
    first = launch("solo-1", redis=False)
    first.wait_ready()
    upstream.enqueue(Scenario.words(LONG_TEXT, delay=0.02))
    cid = uuid.uuid4()
    tab, _ = await open_tab(first, cid, login(first, USERNAME))
    await tab.send(send("Start an answer, then crash"))
    created = await tab.until(lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant")
    answer_id = created[-1]["message"]["id"]
    await wait_for_deltas(tab, 3)
    first.kill()
    database = first.env["DATABASE_URL"]
    assert stored_answer(database, answer_id)[0] == "streaming"

    second = launch("solo-2", redis=False)
    second.wait_ready()  # recovery runs before the process serves anything
    assert stored_answer(database, answer_id)[0] == "interrupted"


# --- health --------------------------------------------------------------------------------------
def test_healthz_ok_on_a_running_process(pair):
    for server in pair:
        answer = httpx.get(f"{server.url}/healthz", timeout=5)
        assert answer.status_code == 200
        assert answer.json() == {"status": "ok"}


def test_healthz_503_when_redis_is_unreachable(launch):
    from .servers import free_port

    broken = launch("no-redis", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    answer = broken.wait_ready(want_ok=False)
    assert answer.status_code == 503
    assert answer.json()["status"] != "ok"


# --- many streams at once ---------------------------------------------------------------------
async def test_thirty_streams_across_two_processes_arrive_whole_and_in_order(launch, upstream):
    """30 answers at once, each sent on one process and watched from the other: every delta
    reaches both tabs live, numbered without a gap (the fan-out has no shared capacity)."""
    c = launch("C", CHAT_MAX_ANSWERS_PER_USER="100", CHAT_MAX_SOCKETS_PER_USER="100")
    d = launch("D", CHAT_MAX_ANSWERS_PER_USER="100", CHAT_MAX_SOCKETS_PER_USER="100")
    c.wait_ready()
    d.wait_ready()
    session = login(c, USERNAME)
    scenario = Scenario.words(" ".join(f"w{n}" for n in range(80)), delay=0.02)
    for _ in range(30):
        upstream.enqueue(scenario)
    conversations = [uuid.uuid4() for _ in range(30)]
    senders, watchers = [], []
    for n, cid in enumerate(conversations):
        here, there = (c, d) if n % 2 else (d, c)
        senders.append((await open_tab(here, cid, session))[0])
        watchers.append((await open_tab(there, cid, session))[0])
    await asyncio.gather(*(tab.send(send(f"Stream {n}")) for n, tab in enumerate(senders)))
    seen = await asyncio.gather(*(tab.until_done(timeout=60) for tab in senders + watchers))
    for tab in senders + watchers:
        await tab.close()

    for frames in seen:
        done = frames[-1]["message"]
        assert done["status"] == "complete", summary(frames)
        answer_deltas = deltas(frames, done["id"])
        assert [f["seq"] for f in answer_deltas] == list(range(1, len(answer_deltas) + 1)), summary(frames)
        assert "".join(f["delta"] for f in answer_deltas) == scenario.text == done["content"]
