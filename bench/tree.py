"""What a conversation tree costs: snapshot size and time, context and branch switch time,
for 500 messages in 20 branches, against a flat 500-message conversation (one branch)
measured in the same run.

    .venv/bin/python bench/tree.py [--database sqlite|postgres] [--messages 500] [--branches 20] [--runs 30]

SQLite: a throwaway file in a temporary directory. PostgreSQL: the throwaway database
`chat_bench_tree` (dropped first and at the end; BENCH_POSTGRES_URL names the server).
Times are medians (and p95) of --runs calls, through the code the socket uses
(chat.actions.snapshot reads, repairs and serializes; protocol.encode makes the frame).
Figures: docs/architecture.md, "Conversation trees".
"""
import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "chat_bench_tree"
ANSWER = "Here is an explanation with **markdown**, `code` and a list:\n\n- one\n- two\n\n" * 6  # ~470 chars


def setup(database: str) -> str:
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ.pop("REDIS_URL", None)
    if database == "postgres":
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{DB_NAME}"')
        os.environ["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{DB_NAME}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench-tree.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return os.environ["DATABASE_URL"]


def teardown(database: str) -> None:
    if database == "postgres":
        import psycopg
        from django.db import connections

        connections.close_all()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def build(owner, *, messages: int, branches: int):
    """A trunk, then `branches - 1` edits of trunk questions, each growing its own turns;
    the shown branch is the last one made. Returns the conversation and a deepest question."""
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import Conversation, Message

    conversation = Conversation.objects.create(owner=owner, title=f"{branches} branches")
    now = timezone.now()
    rows: list[Message] = []

    def add(role, content, parent):
        rows.append(Message(conversation=conversation, role=role, content=content, parent=parent,
                            model=None if role == "user" else "bench-model",
                            created_at=now + timedelta(milliseconds=len(rows))))
        return rows[-1]

    per_branch = messages // branches // 2
    trunk, parent = [], None
    for turn in range((messages - (branches - 1) * per_branch * 2) // 2):
        question = add("user", f"Trunk question {turn}: how does it work?", parent)
        parent = add("assistant", f"Trunk answer {turn}. {ANSWER}", question)
        trunk.append(question)
    deepest = trunk[-1]
    for branch in range(1, branches):
        parent = trunk[(branch * 3) % len(trunk)].parent
        for turn in range(per_branch):
            question = add("user", f"Branch {branch} question {turn}?", parent)
            parent = add("assistant", f"Branch {branch} answer {turn}. {ANSWER}", question)
    Message.objects.bulk_create(rows)
    Conversation.objects.filter(id=conversation.id).update(active_leaf=rows[-1])
    return conversation, deepest, rows


def timed(runs: int, call) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def measure(owner, conversation, deepest, rows, runs: int) -> dict:
    from chat import actions, protocol, selectors, services

    frame = asyncio.run(actions.snapshot(owner.pk, conversation.id))
    size = len(protocol.encode(frame).encode())
    loop = asyncio.new_event_loop()
    snapshot = timed(runs, lambda: protocol.encode(loop.run_until_complete(actions.snapshot(owner.pk, conversation.id))))
    loop.close()
    context = timed(runs, lambda: selectors.answer_context(conversation_id=conversation.id, question=deepest))
    switch = timed(runs, lambda: services.branch_show(user=owner, conversation_id=conversation.id,
                                                      message_id=rows[0].id))
    return {"messages": len(frame["messages"]), "bytes": size, "snapshot": snapshot, "context": context,
            "switch": switch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    setup(args.database)
    try:
        from django.contrib.auth import get_user_model

        owner = get_user_model().objects.create_user("bench-tree", password="x")
        results = {}
        for label, branches in ((f"{args.branches} branches", args.branches), ("flat (reference)", 1)):
            conversation, deepest, rows = build(owner, messages=args.messages, branches=branches)
            results[label] = measure(owner, conversation, deepest, rows, args.runs)
        print(f"database: {args.database}; {args.runs} runs each; median / p95 in ms")
        reference = results["flat (reference)"]
        for label, r in results.items():
            ratio = r["snapshot"][0] / reference["snapshot"][0]
            print(f"{label:>18}: {r['messages']} messages, snapshot {r['bytes'] / 1024:.0f} KiB "
                  f"in {r['snapshot'][0]:.1f} / {r['snapshot'][1]:.1f} ms ({ratio:.2f}x the flat one), "
                  f"context of the deepest question {r['context'][0]:.1f} / {r['context'][1]:.1f} ms, "
                  f"branch switch {r['switch'][0]:.1f} / {r['switch'][1]:.1f} ms")
    finally:
        teardown(args.database)


if __name__ == "__main__":
    main()
