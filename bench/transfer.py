"""Import and bulk export at size: import 1,000 ChatGPT conversations, export 10,000.

    .venv/bin/python bench/transfer.py [--database sqlite|postgres] [--imports 1000] [--exports 10000]

Runs the code the background import thread and the streamed export run (sharing.reading,
sharing.services.import_store, sharing.bulk_export) in this process, on a throwaway
database (SQLite in a temporary directory, or PostgreSQL `chat_bench_transfer`, dropped
at the end). Peak memory is the process's resident high-water mark (VmHWM, reset before each
step) above what it held before the step. References measured in the same run: for the
import, `json.loads` of the same file; for the export, zipping the same files from memory.
Figures: docs/architecture.md, "Import and bulk export".
"""
import argparse
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

DB = "chat_bench_transfer"  # bench/tree.py's set-up, under this database name
TEXT = "A sentence of an answer with **markdown** and `code`. " * 6


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Peak:
    """Resident memory above the level at start, at its highest while the block ran."""

    def __enter__(self):
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        self.base = rss_kib("VmRSS")
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        self.mib = max(0, rss_kib("VmHWM") - self.base) / 1024


def chatgpt_file(count: int) -> bytes:
    """`count` conversations of 10 turns each, with one edited question (a branch)."""
    t0 = 1_760_000_000.0
    conversations = []
    for c in range(count):
        mapping = {"root": {"id": "root", "message": None, "parent": None, "children": []}}
        parent = "root"
        for turn in range(10):
            for role in ("user", "assistant"):
                key = f"{c}-{turn}-{role}"
                text = f"Question {turn} of chat {c}?" if role == "user" else f"Answer {turn}. {TEXT}"
                mapping[key] = {"id": key, "parent": parent, "children": [], "message": {
                    "id": key, "author": {"role": role}, "create_time": t0 + c * 100 + turn * 2 + (role == "assistant"),
                    "content": {"content_type": "text", "parts": [text]},
                    "metadata": {"model_slug": "gpt-4o"} if role == "assistant" else {}}}
                mapping[parent]["children"].append(key)
                parent = key
        edit = f"{c}-edit"
        mapping[edit] = {"id": edit, "parent": f"{c}-4-assistant", "children": [], "message": {
            "id": edit, "author": {"role": "user"}, "create_time": t0 + c * 100 + 50,
            "content": {"content_type": "text", "parts": ["An edited question?"]}, "metadata": {}}}
        conversations.append({"title": f"Chat {c}", "create_time": t0 + c * 100, "update_time": t0 + c * 100 + 60,
                              "mapping": mapping, "current_node": parent, "id": f"bench-{c}"})
    return json.dumps(conversations).encode()


def fill_for_export(owner, count: int) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from chat.models import Conversation, Message

    now = timezone.now()
    for start in range(0, count, 1000):
        conversations = [Conversation(owner=owner, title=f"Exported chat {n}", created_at=now, updated_at=now)
                         for n in range(start, min(count, start + 1000))]
        Conversation.objects.bulk_create(conversations)
        messages = []
        for conversation in conversations:
            parent = None
            for turn in range(3):
                question = Message(conversation=conversation, role="user", content=f"Question {turn}?", parent=parent,
                                   created_at=now + timedelta(seconds=2 * turn))
                parent = Message(conversation=conversation, role="assistant", content=f"Answer {turn}. {TEXT}",
                                 parent=question, model="bench", created_at=now + timedelta(seconds=2 * turn + 1))
                messages += [question, parent]
            conversation.active_leaf = parent
        Message.objects.bulk_create(messages, batch_size=2000)
        Conversation.objects.bulk_update(conversations, ["active_leaf"], batch_size=1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--imports", type=int, default=1000)
    parser.add_argument("--exports", type=int, default=10000)
    args = parser.parse_args()

    import bench.tree as setup

    setup.DB_NAME = DB
    setup.setup(args.database)
    try:
        from django.contrib.auth import get_user_model

        from sharing.bulk_export import BulkExport
        from sharing.reading import read
        from sharing.services import import_store

        data = chatgpt_file(args.imports)
        path = Path(tempfile.mkdtemp()) / "conversations.json"
        path.write_bytes(data)
        with Peak() as parse:
            json.loads(data)
        importer = get_user_model().objects.create_user("bench-import", password="x")
        with Peak() as reading:
            found = read(str(path), max_unpacked=1 << 30)
        with Peak() as storing:
            imported, _ = import_store(owner=importer, found=found)
        del found
        print(f"database: {args.database}")
        print(f"import: {imported} ChatGPT conversations ({len(data) / 1e6:.1f} MB, 21 messages each): "
              f"read {reading.seconds:.2f} s (peak +{reading.mib:.0f} MiB), stored in one transaction "
              f"{storing.seconds:.2f} s (peak +{storing.mib:.0f} MiB); total {reading.seconds + storing.seconds:.2f} s. "
              f"Reference json.loads of the file: {parse.seconds:.2f} s, +{parse.mib:.0f} MiB "
              f"(read is {reading.seconds / parse.seconds:.1f}x)")

        exporter = get_user_model().objects.create_user("bench-export", password="x")
        fill_for_export(exporter, args.exports)
        export = BulkExport(exporter.pk)
        size = chunks = 0
        files: list[tuple[str, bytes]] = []
        with Peak() as exporting:
            while True:
                data_out, last = export.batch()
                size, chunks = size + len(data_out), chunks + 1
                if last:
                    break
            size += len(export.finish())
        # The reference: the same number of files of the same sizes zipped from memory.
        for index in range(args.exports):
            files.append((f"c/{index}.md", (f"# Exported chat {index}\n" + TEXT * 4).encode()))
            files.append((f"c/{index}.json", json.dumps({"messages": [TEXT] * 6}).encode()))
        with Peak() as reference:
            sink = io.BytesIO()
            with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                for name, payload in files:
                    archive.writestr(name, payload)
        print(f"bulk export: {args.exports} conversations (6 messages each) -> {size / 1e6:.1f} MB zip in {chunks} chunks, "
              f"{exporting.seconds:.2f} s ({args.exports / exporting.seconds:,.0f} conversations/s), peak +{exporting.mib:.0f} MiB. "
              f"Reference, the same count of files zipped from memory: {reference.seconds:.2f} s "
              f"(export is {exporting.seconds / reference.seconds:.1f}x)")
    finally:
        setup.teardown(args.database)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    main()
