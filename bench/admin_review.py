"""Time the review and operations pages (the feedback queue, the usage report) on 1,000,000
messages, 10,000 users, 50,000 ratings and a month of daily usage rows (PostgreSQL).

    .venv/bin/python bench/admin_review.py [--messages 1000000] [--users 10000] [--keep]

Fills the throwaway database `chat_bench_feedback` with bench/admin.py's SQL (users,
conversations, messages), rates every 10th answer (thumbs down on a third of them, with
reasons and comments), writes 30 days of usage for every user (one or two models a day:
about 400,000 rows), then requests each page 5 times through Django's test client as a
superuser and prints median and max times and the SQL queries. The message list of
chat's admin is timed in the same run as the reference: this machine is shared and noisy,
so compare ratios to it. Figures: docs/admin.md.
"""
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

_spec = importlib.util.spec_from_file_location("bench_admin", ROOT / "bench" / "admin.py")
bench_admin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_admin)

DB_NAME = "chat_bench_feedback"

FEEDBACK_SQL = """
INSERT INTO feedback_feedback (message_id, user_id, rating, reason, comment, created_at, updated_at, reviewed_at)
SELECT m.id, c.owner_id,
       CASE WHEN n % 3 = 0 THEN 'down' ELSE 'up' END,
       CASE WHEN n % 3 = 0 THEN (ARRAY['inaccurate', 'unhelpful', 'incomplete', 'unsafe', 'other'])[n % 5 + 1]
            WHEN n % 2 = 0 THEN 'helpful' ELSE '' END,
       CASE WHEN n % 4 = 0 THEN 'Comment ' || n || ' on this answer' ELSE '' END,
       m.created_at + interval '1 minute', m.created_at + interval '1 minute',
       CASE WHEN n % 5 = 0 THEN m.created_at + interval '1 day' END
FROM (SELECT id, conversation_id, created_at, row_number() OVER (ORDER BY created_at) AS n
      FROM chat_message WHERE role = 'assistant') AS m
JOIN chat_conversation c ON c.id = m.conversation_id
WHERE m.n % 10 = 0;
"""


USAGE_SQL = """
INSERT INTO usage_dailyusage (user_id, model, day, answers, input_tokens, output_tokens, counted_answers)
SELECT u.id, m.model, current_date - d, 1 + (u.id + d) % 20, 500 * (1 + (u.id + d) % 50), 300 * (1 + (u.id * d) % 40),
       CASE WHEN (u.id + d) % 17 = 0 THEN 1 ELSE 0 END
FROM auth_user u CROSS JOIN generate_series(0, 29) AS d
CROSS JOIN (VALUES ('gpt-4o-mini'), ('deepseek-reasoner')) AS m(model)
WHERE NOT u.is_superuser AND (m.model = 'gpt-4o-mini' OR (u.id + d) % 3 = 0);
INSERT INTO usage_modelprice (model, input_per_million, output_per_million)
VALUES ('gpt-4o-mini', 0.15, 0.60), ('deepseek-reasoner', 0.55, 2.19);
"""


def pages(feedback_id, conversation_id, user_id, page: int) -> list[tuple[str, str]]:
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * 86400)) + "%2000:00:00%2B00:00"
    queue = "/admin/feedback/feedback/"
    now = time.time()
    today, week_ago, month_ago = (time.strftime("%Y-%m-%d", time.gmtime(now - days * 86400)) for days in (0, 6, 29))
    return [
        ("reference: chat message list", "/admin/chat/message/"),
        ("feedback queue", queue),
        (f"feedback queue, page {page}", f"{queue}?p={page}"),
        ("filter rating=down", f"{queue}?rating__exact=down"),
        ("filter reason=unsafe", f"{queue}?reason__exact=unsafe"),
        ("filter model", f"{queue}?model=llama-3"),
        ("filter user", f"{queue}?user={user_id}"),
        ("filter not reviewed + down", f"{queue}?reviewed=no&rating__exact=down"),
        ("filter date (past 7 days)", f"{queue}?updated_at__gte={since}"),
        ("search comments", f"{queue}?q=Comment+4000"),
        ("a rating's page (conversation around it)", f"{queue}{feedback_id}/change/"),
        ("conversation page with ratings inline", f"/admin/chat/conversation/{conversation_id}/change/"),
        ("usage report, today", f"/admin/usage/dailyusage/?start={today}&end={today}"),
        ("usage report, last 7 days", f"/admin/usage/dailyusage/?start={week_ago}&end={today}"),
        ("usage report, last 30 days", f"/admin/usage/dailyusage/?start={month_ago}&end={today}"),
        ("usage CSV, last 30 days (every user x model)", f"/admin/usage/dailyusage/?start={month_ago}&end={today}&format=csv"),
    ]


def main() -> None:
    args = bench_admin.arguments(__doc__, users=10_000)

    bench_admin.open_database(DB_NAME, args.reuse)
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
                cursor.execute(bench_admin.FILL_SQL, {
                    "users": args.users, "conversations": args.conversations,
                    "messages": args.messages, "per": max(1, args.messages // args.conversations),
                })
                cursor.execute(FEEDBACK_SQL)
                cursor.execute(USAGE_SQL)
                cursor.execute("ANALYZE")
                cursor.execute("SELECT count(*) FROM feedback_feedback")
                ratings = cursor.fetchone()[0]
                cursor.execute("SELECT count(*) FROM usage_dailyusage")
                usage_rows = cursor.fetchone()[0]
            print(f"filled {args.messages:,} messages, {args.users:,} users, {ratings:,} ratings, "
                  f"{usage_rows:,} daily usage rows "
                  f"in {time.perf_counter() - started:.1f} s")
            get_user_model().objects.create_superuser("bench-admin", "", "bench-password-1")

        setup_test_environment()
        client = Client()
        client.force_login(get_user_model().objects.get(username="bench-admin"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT f.id, m.conversation_id, f.user_id FROM feedback_feedback f "
                           "JOIN chat_message m ON m.id = f.message_id ORDER BY f.updated_at DESC LIMIT 1")
            feedback_id, conversation_id, user_id = cursor.fetchone()

        bench_admin.time_pages(client, pages(feedback_id, conversation_id, user_id, 50))
    finally:
        if not args.keep:
            bench_admin.drop_database(DB_NAME)


if __name__ == "__main__":
    main()
