"""Figures for the hardening work: stop latency, death of a process, one user's share.

    .venv/bin/python bench/faults.py [--tries 100] [--skip-deployed]

Real Daphne processes (tests/e2e/servers.py) against the fake upstream on loopback:
- stop latency: send, wait 0-0.3 s (random), stop, time until `message.done` (stopped):
  embedded (SQLite, in-process layer) on one process; deployed (PostgreSQL + Redis) with
  the stop sent from a socket on the other process;
- SIGKILL of the answering process -> `interrupted` on a listener of another process;
- one user's share of one process: sockets kept/refused (4029), answers started/refused
  (too_many_answers), and another user's short chat (send -> done) beside that load,
  with the same chat on an idle server as the reference.
"""
import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.e2e.servers import PASSWORD, Server, base_env, login, manage  # noqa: E402
from tests.e2e.tabs import open_tab  # noqa: E402
from tests.fake_upstream import FakeUpstream, Scenario  # noqa: E402

LONG = " ".join(f"token{n}" for n in range(400))
USERS = ("alice", "bob")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def prepare(env: dict) -> None:
    manage(env, "migrate", "--noinput", "-v", "0", timeout=300)
    for name in USERS:
        manage({**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}, "createsuperuser", "--noinput",
               "--username", name, "--email", f"{name}@example.com")


def is_done(frame):
    return frame["type"] == "message.done" and frame["message"]["role"] == "assistant"


async def stop_latency(send_to: Server, stop_from: Server, session: str, tries: int) -> list[float]:
    latencies = []
    for _ in range(tries):
        cid = uuid.uuid4()
        tab, _ = await open_tab(send_to, cid, session)
        stopper, _ = (await open_tab(stop_from, cid, session)) if stop_from is not send_to else (tab, None)
        await tab.send({"type": "message.send", "content": "Go on"})
        # A stop button shows once the answer does: the stopping tab waits for it.
        await stopper.until(lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant")
        await asyncio.sleep(random.uniform(0, 0.3))
        started = time.perf_counter()
        await stopper.send({"type": "generation.stop"})
        frames = await tab.until(is_done, timeout=30)
        latencies.append(time.perf_counter() - started)
        status = frames[-1]["message"]["status"]
        assert status == "stopped", status
        await tab.close()
        if stopper is not tab:
            await stopper.close()
    return latencies


async def chat_once(server: Server, session: str) -> float:
    tab, _ = await open_tab(server, uuid.uuid4(), session)
    started = time.perf_counter()
    await tab.send({"type": "message.send", "content": "Quick one"})
    await tab.until(is_done, timeout=60)
    elapsed = time.perf_counter() - started
    await tab.close()
    return elapsed


async def one_users_share(server: Server, upstream: FakeUpstream, sessions: dict) -> dict:
    upstream.default = Scenario.words("A short reply.", delay=0.0)
    idle = [await chat_once(server, sessions["bob"]) for _ in range(5)]
    upstream.default = Scenario.words(LONG, delay=0.02)
    # Every socket in a conversation of its own, each asking for a long answer: the socket
    # cap (per process) and the answer cap (per user) both show.
    tabs, refused = [], 0
    for _ in range(200):
        try:
            tab, _ = await open_tab(server, uuid.uuid4(), sessions["alice"])
            tabs.append(tab)
        except Exception:
            refused += 1
    await asyncio.gather(*(t.send({"type": "message.send", "content": "Long one"}) for t in tabs))
    started = refused_answers = 0
    for tab in tabs:
        frame = await tab.until(lambda f: f["type"] == "error" or (
            f["type"] == "message.created" and f["message"]["role"] == "assistant"), timeout=30)
        if frame[-1]["type"] == "error":
            refused_answers += frame[-1]["code"] == "too_many_answers"
        else:
            started += 1
    upstream.default = Scenario.words("A short reply.", delay=0.0)
    loaded = [await chat_once(server, sessions["bob"]) for _ in range(5)]
    for tab in tabs:
        await tab.send({"type": "generation.stop"})
    for tab in tabs:
        await tab.close()
    upstream.default = Scenario.words(LONG, delay=0.02)
    return {"sockets_kept": len(tabs), "sockets_refused": refused,
            "answers_started": started, "answers_refused": refused_answers,
            "other_chat_idle_ms": statistics.median(idle) * 1000,
            "other_chat_loaded_ms": statistics.median(loaded) * 1000}


async def main(args):
    upstream = FakeUpstream(default=Scenario.words(LONG, delay=0.02)).start()
    common = dict(LLM_PROVIDER="openai", LLM_BASE_URL=upstream.base_url, CHAT_RATE_LIMIT="100000/m",
                  CHAT_STALE_AFTER="3")
    logs = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    servers = []
    try:
        # Embedded: SQLite, in-process layer, one process.
        env = base_env(DATABASE_URL=f"sqlite:///{logs}/bench.sqlite3", **common)
        prepare(env)
        solo = Server("embedded", env, logs).start()
        servers.append(solo)
        solo.wait_ready()
        sessions = {name: login(solo, name) for name in USERS}
        lat = await stop_latency(solo, solo, sessions["alice"], args.tries)
        print(f"stop latency, embedded, one process, {len(lat)} tries: "
              f"p50 {pct(lat, 50) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
        share = await one_users_share(solo, upstream, sessions)
        print("one user's share of one process (embedded):", share)
        if args.skip_deployed:
            return
        import psycopg

        name = f"bench_faults_{uuid.uuid4().hex[:8]}"
        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            env = base_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}",
                           REDIS_URL="redis://127.0.0.1:6379/0", CHAT_REDIS_PREFIX=f"bench-{name}", **common)
            prepare(env)
            a, b = Server("A", env, logs).start(), Server("B", env, logs).start()
            servers += [a, b]
            a.wait_ready()
            b.wait_ready()
            session = login(a, "alice")
            lat = await stop_latency(a, b, session, args.tries)
            print(f"stop latency, PostgreSQL + Redis, stop sent on the other process, {len(lat)} tries: "
                  f"p50 {pct(lat, 50) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms")
            told = []
            for n in range(args.kills):
                doomed = Server(f"doomed-{n}", env, logs).start()
                servers.append(doomed)
                doomed.wait_ready()
                cid = uuid.uuid4()
                tab, _ = await open_tab(doomed, cid, session)
                watcher, _ = await open_tab(b, cid, session)
                await tab.send({"type": "message.send", "content": "Then die"})
                await watcher.until(lambda f: f["type"] == "message.delta", timeout=10)
                doomed.kill()
                killed = time.perf_counter()
                frames = await watcher.until(is_done, timeout=30)
                told.append(time.perf_counter() - killed)
                assert frames[-1]["message"]["status"] == "interrupted"
                await watcher.close()
            print(f"SIGKILL -> interrupted on a listener of another process (CHAT_STALE_AFTER=3 s), "
                  f"{len(told)} kills: min {min(told):.2f} s, median {statistics.median(told):.2f} s, "
                  f"max {max(told):.2f} s")
            share = await one_users_share(a, upstream, {"alice": session, "bob": login(a, "bob")})
            print("one user's share of one process (PostgreSQL + Redis):", share)
        finally:
            for server in servers:
                server.kill()
            with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        for server in servers:
            server.kill()
        upstream.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=100)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--skip-deployed", action="store_true")
    asyncio.run(main(parser.parse_args()))
