"""Faults across real processes: SIGKILL, restarts, Redis dying mid-answer.

What users saw must be stored, and no answer may stay `streaming`:
- listeners on another process are told `interrupted` soon after the answering process
  dies, without anyone reading (the reaper in chat.recovery);
- start-up recovery keeps the live text from Redis, not the last partial save;
- an answer whose Redis dies goes on and is stored whole.
"""
import asyncio
import shutil
import subprocess
import time
import uuid

import pytest

from tests.fake_upstream import Scenario

from .conftest import USERNAME
from .servers import free_port, login
from .tabs import deltas, open_tab
from .test_multiprocess import LONG_TEXT, STALE_AFTER, send, stored_answer, wait_for_deltas

pytestmark = pytest.mark.e2e


def seen_text(frames: list[dict]) -> str:
    return "".join(f["delta"] for f in deltas(frames) if f["part"] == "content")


async def answer_in_flight(server, upstream, ask: str) -> tuple[Scenario, list[dict], str]:
    """Start a long answer on `server` and read its first 20 deltas: (scenario, frames, answer id)."""
    scenario = Scenario.words(LONG_TEXT, delay=0.02)
    upstream.enqueue(scenario)
    tab, _ = await open_tab(server, uuid.uuid4(), login(server, USERNAME))
    await tab.send(send(ask))
    frames = await wait_for_deltas(tab, 20)
    return scenario, frames, deltas(frames)[0]["message_id"]


async def test_listeners_on_another_process_are_told_when_the_answering_process_dies(
        pair, launch, session_id, upstream):
    _, b = pair
    doomed = launch("doomed-listened")
    doomed.wait_ready()
    scenario = Scenario.words(LONG_TEXT, delay=0.02)
    upstream.enqueue(scenario)
    cid = uuid.uuid4()
    tab, _ = await open_tab(doomed, cid, session_id)
    watcher, _ = await open_tab(b, cid, session_id)  # on B, listening, never asking
    await tab.send(send("Start an answer, then die"))
    seen = await wait_for_deltas(watcher, 5)
    doomed.kill()
    killed = time.monotonic()
    frames = await watcher.until(
        lambda f: f["type"] == "message.done" and f["message"]["role"] == "assistant",
        timeout=STALE_AFTER + 10,
    )
    told_after = time.monotonic() - killed
    done = frames[-1]["message"]
    print(f"\nSIGKILL -> interrupted on a listener of another process: {told_after:.2f} s")
    assert done["status"] == "interrupted"
    text = seen_text(seen + frames)
    assert done["content"].startswith(text) and scenario.text.startswith(done["content"])
    # Not busy: the conversation takes a new message at once.
    upstream.enqueue(Scenario.words("Back again."))
    await watcher.send(send("Are you there?"))
    after = await watcher.until(lambda f: f["type"] == "message.done" and f["message"]["id"] != done["id"])
    assert after[-1]["message"]["status"] == "complete"
    await watcher.close()


async def test_start_up_recovery_keeps_the_live_text(launch, redis_prefix, upstream):
    # A Redis prefix of its own: the reapers of the other tests' processes must not get
    # there first. No partial saves: only the live state in Redis holds the text.
    env = {"CHAT_REDIS_PREFIX": f"{redis_prefix}:restart", "CHAT_SAVE_INTERVAL": "600"}
    first = launch("restart-1", **env)
    first.wait_ready()
    scenario, frames, answer_id = await answer_in_flight(first, upstream, "Start an answer, then crash")
    first.kill()
    seen = seen_text(frames)
    database = first.env["DATABASE_URL"]
    assert stored_answer(database, answer_id)[0] == "streaming"
    time.sleep(STALE_AFTER + 0.5)  # its heartbeat goes stale
    second = launch("restart-2", **env)
    second.wait_ready()  # recovery runs before the process serves anything
    status, content, _ = stored_answer(database, answer_id)
    assert status == "interrupted"
    assert len(seen) > 20 and content.startswith(seen), (seen, content)
    assert scenario.text.startswith(content)


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own, to kill mid-answer (never the shared one)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed: the Redis-dies test is skipped")
    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--save", "", "--appendonly", "no",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "private redis-server did not start"
            time.sleep(0.05)
    yield server, url
    if server.poll() is None:
        server.kill()
        server.wait(5)


async def test_an_answer_whose_redis_dies_goes_on_and_is_stored_whole(launch, private_redis, upstream):
    redis_server, url = private_redis
    server = launch("redis-dies", REDIS_URL=url, CHAT_SAVE_INTERVAL="600")
    server.wait_ready()
    scenario, frames, answer_id = await answer_in_flight(server, upstream, "Start an answer, then lose Redis")
    redis_server.kill()
    redis_server.wait(5)
    seen = seen_text(frames)
    database = server.env["DATABASE_URL"]
    deadline = time.monotonic() + 30
    while (row := stored_answer(database, answer_id))[0] == "streaming":
        assert time.monotonic() < deadline, "the answer stayed streaming after Redis died"
        await asyncio.sleep(0.2)
    status, content, _ = row
    assert content.startswith(seen)
    assert (status, content) == ("complete", scenario.text)
