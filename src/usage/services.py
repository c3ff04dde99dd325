"""Writes: add answers' tokens to the daily rows, many answers in one statement."""
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction

from .models import DailyUsage


@dataclass
class Tally:
    """Answers of one user from one model on one day, not yet written."""

    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    counted_answers: int = 0


def usage_add(*, tallies: dict[tuple[int, str, date], Tally]) -> None:
    """Add each (user id, model, day)'s tally to its row, creating rows as needed: one
    INSERT ... ON CONFLICT per row in one transaction (PostgreSQL and SQLite alike)."""
    if not tallies:
        return
    table = DailyUsage._meta.db_table
    sql = (
        f"INSERT INTO {table} (user_id, model, day, answers, input_tokens, output_tokens, counted_answers) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, model, day) DO UPDATE SET "
        f"answers = {table}.answers + excluded.answers, "
        f"input_tokens = {table}.input_tokens + excluded.input_tokens, "
        f"output_tokens = {table}.output_tokens + excluded.output_tokens, "
        f"counted_answers = {table}.counted_answers + excluded.counted_answers"
    )
    rows = [(user_id, model, day, t.answers, t.input_tokens, t.output_tokens, t.counted_answers)
            for (user_id, model, day), t in sorted(tallies.items())]  # one lock order: no deadlocks
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
