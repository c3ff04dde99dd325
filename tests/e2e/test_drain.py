"""Restarts behind nginx that lose nothing: SIGTERM drains a process (serving.drain), its
sockets reconnect through nginx to the others and see their answers go on; SIGKILL is
repaired by the others. Real parts: nginx, three Daphne processes, PostgreSQL, Redis, the
loopback fake upstream (conftest.py: `cluster`).
"""
import asyncio
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chat.protocol import CLOSE_SERVICE_RESTART
from tests.fake_upstream import Scenario

from .asker import Asker
from .conftest import DRAIN_SECONDS
from .test_multiprocess import LONG_TEXT, STALE_AFTER, stored_answer
from .test_proxy import api_headers

pytestmark = pytest.mark.e2e

EXIT_GRACE = 15  # beyond the drain time: storing what is left, responses ending, shutting down


async def serving(cluster, timeout: float = 10):
    """The process running the one answer in flight (from each process's /readyz)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = {name: count for name, count in (await asyncio.to_thread(cluster.running)).items() if count}
        if len(running) == 1:
            return cluster.by_name(next(iter(running)))
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no single process runs the answer: {running}")


async def answer_underway(cluster, upstream, scenario: Scenario, ask: str, timeout: float):
    """Every process up, an answer asked through nginx and some of its deltas read:
    (the asker, its task, the process running the answer)."""
    cluster.up()
    upstream.enqueue(scenario)
    asker = Asker(cluster.nginx, cluster.session)
    asking = asyncio.create_task(asker.ask(ask, timeout=timeout))
    running = await serving(cluster)
    await asyncio.sleep(0.5)  # some deltas on the first socket
    return asker, asking, running


async def exited(server, timeout: float) -> int:
    """The exit status of a process told to stop, once it has exited."""
    return await asyncio.wait_for(asyncio.to_thread(server.process.wait), timeout)


async def test_sigterm_mid_answer_the_client_goes_on_elsewhere_with_every_delta(cluster, upstream):
    # ~8 s, well within the drain time, and time enough to look at the draining process.
    scenario = Scenario.words(LONG_TEXT, delay=0.04)
    asker, asking, doomed = await answer_underway(cluster, upstream, scenario, "A long answer, then a restart",
                                                  DRAIN_SECONDS + 20)
    doomed.sigterm()

    # While it drains: alive, not ready; it takes no new socket and starts no new answer...
    deadline = time.monotonic() + 5
    while (ready := await asyncio.to_thread(doomed.readiness)) and ready["status"] != "draining":
        assert time.monotonic() < deadline, ready
        await asyncio.sleep(0.02)
    assert ready == {"status": "draining", "process": doomed.name, "answers": 1, "sockets": 0}
    assert httpx.get(f"{doomed.url}/healthz").status_code == 200
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"{doomed.ws_url}/ws/chat/{asker.conversation_id}/", origin=doomed.url,
                      additional_headers={"Cookie": f"sessionid={cluster.session}"})
    assert refused.value.response.status_code == 503
    sse = httpx.post(f"{doomed.url}/api/conversations/{asker.conversation_id}/messages/",
                     json={"content": "A new answer, here?"}, headers=api_headers(doomed, cluster.session))
    assert (sse.status_code, sse.json()["error"]["code"], sse.headers["retry-after"]) == (503, "unavailable", "1")
    # ... while nginx takes new ones elsewhere at once.
    upstream.enqueue(Scenario.words("Served by another process.", delay=0.01))
    meanwhile = Asker(cluster.nginx, cluster.session)
    assert (await meanwhile.ask("Anyone there?", timeout=20)).whole
    await meanwhile.close()

    seen = await asking
    await asker.close()
    assert seen.closes == [CLOSE_SERVICE_RESTART]
    assert seen.whole and seen.text == scenario.text, seen
    assert await exited(doomed, DRAIN_SECONDS + EXIT_GRACE) == 0
    database = doomed.env["DATABASE_URL"]
    assert stored_answer(database, seen.answer["id"]) == ("complete", scenario.text, "")


async def test_an_answer_longer_than_the_drain_is_stored_interrupted_with_its_text(cluster, launch, upstream):
    cluster.up()
    short = launch("short-drain", CHAT_DRAIN_SECONDS="1", CHAT_PROCESS_NAME="short-drain",
                   **{name: cluster.servers[0].env[name] for name in ("DJANGO_TRUSTED_PROXIES",)})
    short.wait_ready()
    scenario = Scenario.words(LONG_TEXT, delay=0.05)  # ~10 s: longer than its drain
    upstream.enqueue(scenario)
    # The first socket on that process, the next ones through nginx, to the others.
    asker = Asker(cluster.nginx, cluster.session, first=short)
    asking = asyncio.create_task(asker.ask("Longer than the drain", timeout=30))
    deadline = time.monotonic() + 10
    while ((await asyncio.to_thread(short.readiness)) or {}).get("answers") != 1:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await asyncio.sleep(1)
    short.sigterm()
    seen = await asking
    await asker.close()
    answer = seen.answer
    assert seen.closes == [CLOSE_SERVICE_RESTART] and not seen.gaps and not seen.contradicted
    assert answer["status"] == "interrupted" and answer["error"]
    assert answer["content"] and seen.text == answer["content"] and len(answer["content"]) < len(scenario.text)
    assert scenario.text.startswith(answer["content"])
    assert await exited(short, 1 + EXIT_GRACE) == 0
    assert stored_answer(short.env["DATABASE_URL"], answer["id"])[:2] == ("interrupted", answer["content"])


async def test_rolling_restart_under_twenty_answers_loses_nothing(cluster, upstream):
    """Every process restarted one by one (SIGTERM, exit, start on its port, ready) while 20
    clients keep asking through nginx: every answer complete, every delta seen."""
    cluster.up()
    scenario = Scenario.words(" ".join(f"w{n}" for n in range(60)), delay=0.03)  # ~2 s each
    upstream.default = scenario
    restarted = asyncio.Event()
    askers = [Asker(cluster.nginx, cluster.session) for _ in range(20)]

    async def keep_asking(asker):
        seen = []
        while not restarted.is_set():
            seen.append(await asker.ask(f"question {len(seen)}", timeout=DRAIN_SECONDS + 30))
        await asker.close()
        return seen

    clients = [asyncio.create_task(keep_asking(asker)) for asker in askers]
    await asyncio.sleep(1)  # every client has an answer running
    statuses = []
    for server in cluster.servers:
        server.sigterm()
        statuses.append(await exited(server, DRAIN_SECONDS + EXIT_GRACE))
        server.start()
        await asyncio.to_thread(server.wait_ready)
    restarted.set()
    seen = [answer for answers in await asyncio.gather(*clients) for answer in answers]

    assert statuses == [0, 0, 0]
    moved = sum(answer.closes.count(CLOSE_SERVICE_RESTART) for answer in seen)
    print(f"\nrolling restart: {len(seen)} answers, {moved} sockets moved, "
          f"{sum(a.refused for a in seen)} sends refused and sent again, {sum(a.lost for a in seen)} deltas lost")
    assert moved >= 10, "the restarts did not happen under load"
    broken = [a for a in seen if not a.whole or a.text != scenario.text]
    assert not broken, [(a.answer and (a.answer["status"], a.answer["content"][-40:]), a.text[-40:], a.gaps,
                         a.contradicted, a.closes) for a in broken]
    # nginx always had a process to give a socket to: none of them was left out for long.
    assert sum(asker.failed_connects for asker in askers) == 0


async def test_sigkill_of_the_answering_process_is_repaired_by_the_others(cluster, upstream):
    scenario = Scenario.words(LONG_TEXT, delay=0.02)
    asker, asking, doomed = await answer_underway(cluster, upstream, scenario, "Then the process dies",
                                                  STALE_AFTER + 20)
    doomed.kill()
    seen = await asking
    # A new question goes through nginx to a live process at once.
    upstream.enqueue(Scenario.words("Still here.", delay=0.01))
    after = await asker.ask("Are you there?", timeout=20)
    await asker.close()
    answer = seen.answer
    assert seen.closes and seen.closes[0] != CLOSE_SERVICE_RESTART  # dropped, not told
    assert answer["status"] == "interrupted" and not seen.gaps and not seen.contradicted
    assert answer["content"] and seen.text == answer["content"] and scenario.text.startswith(answer["content"])
    assert after.whole and after.text == "Still here."
    cluster.up()
