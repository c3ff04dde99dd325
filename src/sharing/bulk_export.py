"""All of a user's conversations as one zip, streamed as it is made.

Per conversation a Markdown file (the shown branch) and a JSON file (every branch, the
contract's shapes: what /export/?format=json gives, and what the import takes back), plus
`index.md`. Conversations are read and packed a batch at a time in a worker thread (not the
event loop, not the shared ORM thread), so memory holds one batch whatever the count: only
the zip's central directory (some 100 bytes a file) grows with it.
"""
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from asgiref.sync import sync_to_async
from django.db import connection

from chat import protocol
from chat.export import filename_stem, shown_branch, to_markdown
from chat.models import Conversation, Message

BATCH = 200


class _Sink:
    """A write-only file for ZipFile that hands out what was written since the last call."""

    def __init__(self):
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


class BulkExport:
    def __init__(self, owner_id):
        self.owner_id = owner_id
        self.sink = _Sink()
        self.archive = zipfile.ZipFile(self.sink, "w", zipfile.ZIP_DEFLATED, compresslevel=6)
        self.index: list[str] = []
        self.names: set[str] = set()
        self.after = None  # keyset: the last conversation id packed

    def batch(self) -> tuple[bytes, bool]:
        """Pack the next batch: (zip bytes made, whether that was the last one)."""
        try:
            rows = Conversation.objects.filter(owner_id=self.owner_id).order_by("id")
            if self.after is not None:
                rows = rows.filter(id__gt=self.after)
            conversations = list(rows[:BATCH])
            messages: dict = {c.id: [] for c in conversations}
            for message in Message.objects.filter(conversation_id__in=list(messages)).order_by("created_at", "id"):
                messages[message.conversation_id].append(protocol.message_json(message))
        finally:
            connection.close()  # a worker thread: give the connection back between batches
        for conversation in conversations:
            self._pack(protocol.conversation_json(conversation), messages[conversation.id])
        if conversations:
            self.after = conversations[-1].id
        return self.sink.take(), len(conversations) < BATCH

    def _pack(self, conversation: dict, messages: list[dict]) -> None:
        stem = filename_stem(conversation)
        if stem in self.names:
            stem = f"{stem}-{conversation['id']}"
        self.names.add(stem)
        branch = shown_branch(conversation, messages)
        stamp = _zip_time(conversation["updated_at"])
        self._write(f"conversations/{stem}.md", to_markdown(conversation, branch, elsewhere=len(messages) - len(branch)), stamp)
        self._write(f"conversations/{stem}.json",
                    json.dumps({"conversation": conversation, "messages": messages}, ensure_ascii=False, indent=1),
                    stamp)
        title = " ".join(conversation["title"].split()).replace("|", "\\|").replace("]", "\\]") or "Untitled chat"
        self.index.append(f"| [{title}](conversations/{stem}.md) | {conversation['updated_at'][:10]} "
                          f"| {len(messages)} | [json](conversations/{stem}.json) |")

    def _write(self, name: str, text: str, stamp) -> None:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        self.archive.writestr(info, text.encode())

    def finish(self) -> bytes:
        lines = ["# Conversations", "", f"{len(self.index)} conversations, exported "
                 f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Markdown shows each one's shown branch; "
                 "the JSON file holds every branch and imports back.", "",
                 "| title | last activity | messages | data |", "| --- | --- | --- | --- |", *self.index, ""]
        self._write("index.md", "\n".join(lines), datetime.now(UTC).timetuple()[:6])
        self.archive.close()
        return self.sink.take()


def _zip_time(stamp: str) -> tuple:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return max(moment.timetuple()[:6], (1980, 1, 1, 0, 0, 0))  # zip times start in 1980


async def zip_stream(owner_id) -> AsyncIterator[bytes]:
    export = BulkExport(owner_id)
    # Its own worker thread: packing is CPU and database work the event loop must not wait on.
    step = sync_to_async(export.batch, thread_sensitive=False)
    while True:
        data, last = await step()
        if data:
            yield data
        if last:
            break
    yield await sync_to_async(export.finish, thread_sensitive=False)()
