"""How fast are the history list and search for a heavy user, on PostgreSQL?

Creates a throwaway database (default `chat_bench`), migrates it, bulk-loads one user
with 10,000 conversations and 500,000 messages (plus a second user's rows, which must
never slow down or leak into the first's results) with generate_series SQL, builds the
trigram indexes, then times:

- list page 1 and a deep page (cursor after 5,000 conversations),
- search for a common word, a rare word, a word that matches nothing, and a title word,

both through the selector (chat.history.conversation_page: the database work) and through
the real HTTP API (GET /api/conversations/ via Django's test client: auth, session,
serialization). Prints median and p95 in ms; drops the database afterwards (--keep keeps it).

    .venv/bin/python bench/search.py [--server postgres://postgres@127.0.0.1:5432] [--runs 30]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

VOCABULARY = (
    "the model answer python server memory query index token stream cloud garden music travel "
    "recipe budget health lamp river window coffee planet rocket paper market engine socket "
    "function value error result design summer winter letter bridge forest castle doctor "
    "language history science number picture student teacher company problem system"
).split()
RARE = "zanzibar"
NO_MATCH = "qwxzyvk"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL, without a database name")
    parser.add_argument("--database", default="chat_bench")
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages-per-conversation", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--explain", action="store_true", help="print the search query plans")
    return parser.parse_args()


def admin_sql(server: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def setup_django(server: str, database: str) -> None:
    os.environ["DATABASE_URL"] = f"{server}/{database}"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only")
    os.environ["CHAT_RECOVER_ON_START"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["testserver"]


def load(args) -> tuple:
    """Migrate, then bulk-load with SQL; returns (user, other user)."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    migration = __import__("chat.migrations.0002_search_trigram_indexes", fromlist=["INDEXES"])
    call_command("migrate", verbosity=0)
    User = get_user_model()
    user = User.objects.create_user("heavy", password="bench-password-1")
    other = User.objects.create_user("other", password="bench-password-1")
    per = args.messages_per_conversation
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Trigram indexes are built once after the load: far faster than row by row.
        for name, _, _ in migration.INDEXES:
            cursor.execute(f"DROP INDEX IF EXISTS {name}")
        cursor.execute("CREATE TEMP TABLE vocab AS SELECT unnest(%s::text[]) AS word", [VOCABULARY])
        # 4,000 random sentences of 6-25 words; every message is three of them.
        cursor.execute("""
            CREATE TEMP TABLE sentence AS
            SELECT s AS n, (SELECT initcap(string_agg(word, ' ')) || '.'
                            FROM (SELECT word FROM vocab ORDER BY random() LIMIT 6 + mod(s, 20)) w
                            WHERE s = s) AS text
            FROM generate_series(0, 3999) s
        """)
        for owner, count in ((user.pk, args.conversations), (other.pk, args.conversations // 10)):
            cursor.execute("""
                INSERT INTO chat_conversation (id, owner_id, title, created_at, updated_at)
                SELECT gen_random_uuid(), %s,
                       initcap((SELECT string_agg(word, ' ') FROM (SELECT word FROM vocab
                                ORDER BY random() LIMIT 3) w WHERE c = c)),
                       now() - make_interval(mins => c * 7 + 60),
                       now() - make_interval(mins => c * 7)
                FROM generate_series(1, %s) c
            """, [owner, count])
        cursor.execute("""
            INSERT INTO chat_message (id, conversation_id, role, content, reasoning, status, seq,
                                      created_at, updated_at)
            SELECT gen_random_uuid(), c.id, CASE WHEN mod(m, 2) = 1 THEN 'user' ELSE 'assistant' END,
                   s1.text || ' ' || s2.text || ' ' || s3.text, '', 'complete', 0,
                   c.created_at + make_interval(secs => m), c.created_at + make_interval(secs => m)
            FROM chat_conversation c
            CROSS JOIN generate_series(1, %s) m
            JOIN sentence s1 ON s1.n = mod(abs(hashtext(c.id::text || m)), 4000)
            JOIN sentence s2 ON s2.n = mod(abs(hashtext(m || c.id::text)), 4000)
            JOIN sentence s3 ON s3.n = mod(abs(hashtext(c.id::text)) + m * 7, 4000)
        """, [per])
        # The rare word: in 12 messages of the heavy user and in the other user's rows.
        cursor.execute("""
            UPDATE chat_message SET content = content || ' Ferry to Zanzibar at noon.'
            WHERE id IN (SELECT m.id FROM chat_message m JOIN chat_conversation c ON c.id = m.conversation_id
                         WHERE c.owner_id = %s ORDER BY m.id LIMIT 12)
        """, [user.pk])
        cursor.execute("""
            UPDATE chat_message SET content = content || ' zanzibar zanzibar'
            WHERE id IN (SELECT m.id FROM chat_message m JOIN chat_conversation c ON c.id = m.conversation_id
                         WHERE c.owner_id = %s ORDER BY m.id LIMIT 500)
        """, [other.pk])
        loaded = time.perf_counter()
        cursor.execute("SELECT count(*), pg_size_pretty(pg_total_relation_size('chat_message')) FROM chat_message")
        messages, size = cursor.fetchone()
        print(f"loaded {messages:,} messages ({size} with indexes so far) in {loaded - started:.1f} s")
        for name, table, column in migration.INDEXES:
            cursor.execute(f"CREATE INDEX {name} ON {table} USING gin (UPPER({column}) gin_trgm_ops)")
        cursor.execute("ANALYZE")
        print(f"built the trigram indexes in {time.perf_counter() - loaded:.1f} s")
    return user, other


def timed(label: str, runs: int, call) -> dict:
    call()  # warm the cache and the plan
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {"label": label, "median": statistics.median(samples), "p95": p95, "result": result}


def main():
    args = parse_args()
    admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)', f'CREATE DATABASE "{args.database}"')
    try:
        setup_django(args.server, args.database)
        run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            admin_sql(args.server, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


def run(args):
    from django.db import connection
    from django.test import Client

    from chat import history
    from chat.models import Conversation

    user, other = load(args)
    client = Client()
    client.force_login(user)
    skip = min(5000, args.conversations // 2)
    deep = Conversation.objects.filter(owner=user).order_by("-updated_at", "-id")[skip - 1]
    deep_cursor = history.encode_cursor(deep)

    cases = [
        ("list, page 1", {}),
        (f"list, page {skip // 20 + 1} (after {skip:,})", {"cursor": deep_cursor}),
        ("search, common word 'model'", {"q": "model"}),
        ("search, common word, page 2", None),  # filled in below
        (f"search, rare word '{RARE}' (12 hits)", {"q": RARE}),
        (f"search, no match '{NO_MATCH}'", {"q": NO_MATCH}),
        ("search, 2 letters 'zz' (no trigram)", {"q": "zz"}),
    ]
    first_common = history.conversation_page(user=user, q="model")
    cases[3] = (cases[3][0], {"q": "model", "cursor": first_common.next_cursor})

    rows = []
    for label, params in cases:
        selector = timed(label, args.runs, lambda p=params: history.conversation_page(user=user, **p))
        api = timed(label, args.runs, lambda p=params: client.get("/api/conversations/", p))
        assert api["result"].status_code == 200, api["result"].content[:300]
        # The same requests connecting afresh each time (DATABASE_CONN_MAX_AGE=0): the reference.
        settings_dict = connection.settings_dict
        kept, settings_dict["CONN_MAX_AGE"] = settings_dict["CONN_MAX_AGE"], 0
        connection.close()  # a connection's lifetime is fixed when it opens
        try:
            fresh = timed(label, args.runs, lambda p=params: client.get("/api/conversations/", p))
        finally:
            settings_dict["CONN_MAX_AGE"] = kept
            connection.close()
        rows.append((label, selector, api, len(selector["result"].items), fresh))

    for q in (RARE, "model"):
        found = history.conversation_page(user=user, q=q, limit=100).items
        others = Conversation.objects.filter(owner=other, id__in=[i["id"] for i in found]).count()
        assert others == 0, "another user's conversation in the results"
    rare_hits = len(history.conversation_page(user=user, q=RARE, limit=100).items)

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
    print(f"\n{version}; {os.cpu_count()} CPUs; {args.conversations:,} conversations x "
          f"{args.messages_per_conversation} messages for the user; {args.runs} runs each; limit 20")
    print(f"rare word found in {rare_hits} conversations; other user's rows never returned\n")
    print(f"| {'case':40} | {'rows':>4} | {'selector median':>15} | {'selector p95':>12} | "
          f"{'HTTP median':>11} | {'HTTP p95':>8} | {'p95, connecting per request':>27} |")
    print(f"|{'-' * 42}|{'-' * 6}|{'-' * 17}|{'-' * 14}|{'-' * 13}|{'-' * 10}|{'-' * 29}|")
    for label, selector, api, count, fresh in rows:
        print(f"| {label:40} | {count:>4} | {selector['median']:>12.1f} ms | {selector['p95']:>9.1f} ms | "
              f"{api['median']:>8.1f} ms | {api['p95']:>5.1f} ms | {fresh['p95']:>24.1f} ms |")

    if args.explain:
        for q in ("model", RARE, NO_MATCH):
            rows_qs = Conversation.objects.filter(owner=user)
            from django.db.models import Exists, OuterRef, Q

            from chat.models import Message

            rows_qs = rows_qs.filter(Q(title__icontains=q) | Exists(
                Message.objects.filter(conversation_id=OuterRef("pk"), content__icontains=q)))
            print(f"\n--- plan for q={q!r}\n" + rows_qs.order_by("-updated_at", "-id")[:21].explain(analyze=True))


if __name__ == "__main__":
    main()
