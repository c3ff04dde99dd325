"""Trigram GIN indexes so `icontains` search (ILIKE '%q%') is index-backed on PostgreSQL.

Runs only on PostgreSQL; SQLite keeps a plain scan of the user's own rows.
"""
from django.db import migrations

INDEXES = [
    ("chat_message_content_trgm", "chat_message", "content"),
    ("chat_conversation_title_trgm", "chat_conversation", "title"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        # Django's icontains is UPPER(col) LIKE UPPER(%q%): index that expression.
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
