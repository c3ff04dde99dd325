"""Streaming figures for one answer: added delay, frames, bytes, database writes.

    .venv/bin/python bench/stream.py [--tokens 1000] [--delays 0.02,0.005,0] [--redis]

Runs the real stack in-process (ASGI app, consumer, LangChain client) against the fake
OpenAI-compatible upstream on loopback, on a throwaway SQLite database (or DATABASE_URL).
"""
import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]


def setup(use_redis: bool):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
    if use_redis:
        os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
        os.environ["CHAT_REDIS_PREFIX"] = f"bench-{uuid.uuid4().hex[:6]}"
    import django

    django.setup()
    from django.conf import settings

    if use_redis:
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = settings.CHAT_REDIS_PREFIX
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class StatementCounter:
    """Counts SQL statements on every connection (answers write from a worker thread)."""

    def __init__(self):
        self.writes = self.reads = 0

    def __call__(self, execute, sql, params, many, context):
        verb = sql.lstrip().split(" ", 1)[0].upper()
        if verb in ("INSERT", "UPDATE", "DELETE"):
            self.writes += 1
        elif verb == "SELECT":
            self.reads += 1
        return execute(sql, params, many, context)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_answer(cookie, upstream, tokens: int, delay: float, counter):
    from chat import generation
    from chat.tests.ws import open_chat
    from tests.fake_upstream import Scenario

    words = [f" w{n}" for n in range(tokens)]
    upstream.enqueue(Scenario(content=words, delay=delay, usage=(50, tokens)))
    captured = {}
    original_launch = generation.launch

    async def spy(answer):  # keep a handle on the Answer to read its timings
        captured["answer"] = answer
        return await original_launch(answer)

    generation.launch = spy
    import chat.actions

    chat.actions.launch = spy
    socket, _ = await open_chat(cookie, uuid.uuid4())
    writes0, reads0 = counter.writes, counter.reads
    await socket.send_json_to({"type": "message.send", "content": "bench"})
    frames, received = [], []
    while True:
        text = await socket.receive_from(timeout=60)
        received.append(time.perf_counter())
        frames.append(text)
        if '"type":"message.done"' in text:
            break
    await generation.wait_all()
    writes, reads = counter.writes - writes0, counter.reads - reads0
    await socket.disconnect()
    generation.launch = chat.actions.launch = original_launch

    answer = captured["answer"]
    deltas = [(t, f) for t, f in zip(received, frames) if '"type":"message.delta"' in f]
    # Token i arrived at token_times[i]; the frame holding it went out at frame_log[k].
    added, delivered, index = [], [], 0
    for (sent_at, count), (recv_at, _) in zip(answer.frame_log, deltas):
        for _ in range(count):
            added.append(sent_at - answer.token_times[index])
            delivered.append(recv_at - answer.token_times[index])
            index += 1
    return {
        "delay": delay, "tokens": index, "frames": len(deltas), "all_frames": len(frames),
        "delta_bytes": sum(len(f.encode()) for _, f in deltas),
        "all_bytes": sum(len(f.encode()) for f in frames),
        "answer_bytes": len("".join(words).encode()),
        "added_ms": [d * 1000 for d in added], "delivered_ms": [d * 1000 for d in delivered],
        "writes": writes, "reads": reads,
    }


async def main(args):
    from asgiref.sync import sync_to_async
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connections
    from django.db.backends.signals import connection_created
    from django.test import Client

    from tests.fake_upstream import FakeUpstream

    counter = StatementCounter()
    def instrument(connection, **kwargs):  # fires on every reconnect of the same wrapper
        if counter not in connection.execute_wrappers:
            connection.execute_wrappers.append(counter)

    connection_created.connect(instrument, weak=False)
    await sync_to_async(connections.close_all)()

    upstream = FakeUpstream().start()
    settings.LLM_PROVIDER, settings.LLM_BASE_URL, settings.LLM_API_KEY = "openai", upstream.base_url, "x"
    settings.LLM_MAX_RETRIES = 0

    def login():
        user = User.objects.create_user(f"bench-{uuid.uuid4().hex[:6]}", password="x")
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    cookie = await sync_to_async(login)()
    layer = "Redis" if args.redis else "in-process"
    print(f"layer: {layer}; CHAT_FRAME_INTERVAL={settings.CHAT_FRAME_INTERVAL}s, "
          f"CHAT_SAVE_INTERVAL={settings.CHAT_SAVE_INTERVAL}s; database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    print(f"{'upstream':>14} {'tokens':>6} {'frames':>6} {'delta KB':>8} {'all KB':>7} {'overhead':>8} "
          f"{'added med/p99 ms':>17} {'to socket med/p99 ms':>21} {'DB writes':>9} {'DB reads':>8}")
    for delay in args.delays:
        result = await one_answer(cookie, upstream, args.tokens, delay, counter)
        speed = f"{1 / delay:.0f} tok/s" if delay else "burst"
        added, delivered = result["added_ms"], result["delivered_ms"]
        print(f"{speed:>14} {result['tokens']:>6} {result['frames']:>6} {result['delta_bytes'] / 1024:>8.1f} "
              f"{result['all_bytes'] / 1024:>7.1f} {result['delta_bytes'] / result['answer_bytes']:>7.2f}x "
              f"{statistics.median(added):>8.1f}/{percentile(added, 0.99):<8.1f} "
              f"{statistics.median(delivered):>10.1f}/{percentile(delivered, 0.99):<10.1f} "
              f"{result['writes']:>9} {result['reads']:>8}")
    upstream.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--delays", type=lambda s: [float(x) for x in s.split(",")], default=[0.02, 0.005, 0.0])
    parser.add_argument("--redis", action="store_true", help="use the Redis channel layer and state")
    args = parser.parse_args()
    setup(args.redis)
    asyncio.run(main(args))
