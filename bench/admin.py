"""Time the admin's pages on 1,000,000 messages in ~20,000 conversations (PostgreSQL).

    PYTHONPATH=src .venv/bin/python bench/admin.py [--messages 1000000] [--conversations 20000] [--keep]

Creates the throwaway database `chat_bench_admin` (dropped first if a run left it behind),
migrates it, fills it with SQL `generate_series` (seconds, not ORM loops), then requests
each admin page 5 times through Django's test client as a logged-in superuser and prints
the median time and the number of SQL queries. The database is dropped at the end unless
--keep. Figures and what they mean: docs/admin.md.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "chat_bench_admin"
RUNS = 5

FILL_SQL = """
INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
SELECT '!', false, 'user' || u, '', '', '', false, true, now()
FROM generate_series(1, %(users)s) AS u;

INSERT INTO chat_conversation (id, owner_id, title, created_at, updated_at)
SELECT md5('c' || c)::uuid,
       (SELECT min(id) FROM auth_user WHERE NOT is_superuser) + c %% %(users)s,
       CASE WHEN c %% 10 = 0 THEN '' ELSE 'Chat ' || c || ' about ' || (ARRAY['python', 'django', 'redis', 'postgres', 'react'])[c %% 5 + 1] END,
       now() - interval '400 days' + c * interval '20 minutes',
       now() - interval '400 days' + c * interval '20 minutes' + interval '1 hour'
FROM generate_series(0, %(conversations)s - 1) AS c;

INSERT INTO chat_message (id, conversation_id, role, content, reasoning, status, seq, error, model,
                          input_tokens, output_tokens, client_id, parent_id, created_at, updated_at)
SELECT md5('m' || m)::uuid,
       md5('c' || (m / %(per)s))::uuid,
       CASE WHEN m %% 2 = 0 THEN 'user' ELSE 'assistant' END,
       CASE WHEN m %% 2 = 0
            THEN 'Question ' || m || ' on ' || (ARRAY['python', 'django', 'redis', 'postgres', 'react'])[m %% 5 + 1] || ': how does it work?'
            ELSE 'Answer ' || m || '. ' || repeat('Here is some explanation with **markdown** and `code`. ', 2 + m %% 6) END,
       CASE WHEN m %% 2 = 1 AND m %% 7 = 0 THEN 'A short chain of thought.' ELSE '' END,
       CASE WHEN m %% 2 = 0 THEN 'complete'
            WHEN m %% 97 = 1 THEN 'error' WHEN m %% 89 = 1 THEN 'stopped' WHEN m %% 83 = 1 THEN 'interrupted'
            ELSE 'complete' END,
       0,
       CASE WHEN m %% 2 = 1 AND m %% 97 = 1 THEN 'Upstream answered 500.' END,
       CASE WHEN m %% 2 = 1 THEN (ARRAY['gpt-4o-mini', 'deepseek-reasoner', 'llama-3'])[m %% 3 + 1] END,
       CASE WHEN m %% 2 = 1 THEN 20 + m %% 300 END,
       CASE WHEN m %% 2 = 1 THEN 50 + m %% 700 END,
       NULL, NULL,
       now() - interval '400 days' + (m / %(per)s) * interval '20 minutes' + (m %% %(per)s) * interval '10 seconds',
       now() - interval '400 days' + (m / %(per)s) * interval '20 minutes' + (m %% %(per)s) * interval '10 seconds'
FROM generate_series(0, %(messages)s - 1) AS m;
"""


def admin_pages(conversation_id, message_id, page: int) -> list[tuple[str, str]]:
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * 86400)) + "%2000:00:00%2B00:00"
    return [
        ("conversation list", "/admin/chat/conversation/"),
        (f"conversation list, page {page}", f"/admin/chat/conversation/?p={page}"),
        ("conversation search (title + message text)", "/admin/chat/conversation/?q=postgres"),
        ("conversation search, rare word", "/admin/chat/conversation/?q=Question+999998"),
        ("conversation date filter (past 7 days)", f"/admin/chat/conversation/?updated_at__gte={since}"),
        ("conversation change (50 messages inline)", f"/admin/chat/conversation/{conversation_id}/change/"),
        ("message list", "/admin/chat/message/"),
        (f"message list, page {page}", f"/admin/chat/message/?p={page}"),
        ("message search", "/admin/chat/message/?q=redis"),
        ("message search, rare word", "/admin/chat/message/?q=Answer+999999."),
        ("message filter status=error", "/admin/chat/message/?status__exact=error"),
        ("message filter role=assistant", "/admin/chat/message/?role__exact=assistant"),
        ("message filter model", "/admin/chat/message/?model=llama-3"),
        ("message filter date (past 7 days)", f"/admin/chat/message/?created_at__gte={since}"),
        ("message change", f"/admin/chat/message/{message_id}/change/"),
    ]


def open_database(name: str, reuse: bool) -> None:
    """Make the scratch database `name` afresh (unless `reuse`) and set Django up on it."""
    import psycopg

    if not reuse:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-admin-secret-key")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["CHAT_RECOVER_ON_START"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")

    import django

    django.setup()


def drop_database(name: str) -> None:
    import psycopg
    from django.db import connection

    connection.close()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def time_pages(client, pages: list[tuple[str, str]], runs: int = RUNS) -> None:
    """Request each page `runs` times; print median and max ms, queries, and the ratio to the
    first page's median (the reference of the run)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print(f"\n{'page':48} {'median ms':>10} {'max ms':>8} {'queries':>8} {'x first':>8}")
    reference = None
    for name, url in pages:
        times = []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, f"{url}: {response.status_code}"
        median = statistics.median(times)
        reference = reference or median
        print(f"{name:48} {median:10.0f} {max(times):8.0f} {len(queries):8d} {median / reference:8.2f}")


def arguments(description: str, users: int) -> argparse.Namespace:
    """The options of the admin benches (this one and bench/admin_review.py)."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=users)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time a database kept by --keep")
    return parser.parse_args()


def main() -> None:
    args = arguments(__doc__, users=500)

    open_database(DB_NAME, args.reuse)
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    try:
        if not args.reuse:
            call_command("migrate", verbosity=0, interactive=False)
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(FILL_SQL, {
                    "users": args.users, "conversations": args.conversations,
                    "messages": args.messages, "per": max(1, args.messages // args.conversations),
                })
                cursor.execute("ANALYZE")
            print(f"filled {args.messages:,} messages in {args.conversations:,} conversations "
                  f"in {time.perf_counter() - started:.1f} s")
            get_user_model().objects.create_superuser("bench-admin", "", "bench-password-1")

        setup_test_environment()
        admin_user = get_user_model().objects.get(username="bench-admin")
        client = Client()
        client.force_login(admin_user)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM chat_conversation ORDER BY updated_at DESC LIMIT 1")
            conversation_id = cursor.fetchone()[0]
            cursor.execute("SELECT id FROM chat_message ORDER BY created_at DESC LIMIT 1")
            message_id = cursor.fetchone()[0]

        time_pages(client, admin_pages(conversation_id, message_id, max(1, min(50, args.conversations // 200))))
    finally:
        if not args.keep:
            drop_database(DB_NAME)


if __name__ == "__main__":
    main()
