"""An uploaded file into conversations, or an ImportFileError that says what is wrong.

Accepted: ChatGPT's `conversations.json`, or the zip of its data export that holds it; this
app's JSON export of one conversation, or its bulk export zip (`conversations/*.json`).
A zip is read defensively: no entry may name a path outside the archive, and no more than
CHAT_IMPORT_MAX_UNPACKED bytes are ever unpacked, whatever its headers claim (zip bombs).
"""
import json
import posixpath
import zipfile
from collections.abc import Callable, Iterator
from typing import NamedTuple

from chat.services import NewConversation

from . import chatgpt, own
from .errors import ImportFileError

CHUNK = 1 << 20


class Found(NamedTuple):
    source: str
    source_id: str
    conversation: NewConversation


def read(path: str, *, max_unpacked: int, progress: Callable[[int, int], None] = lambda done, total: None) -> list[Found]:
    with open(path, "rb") as file:
        magic = file.read(4)
    if magic.startswith(b"PK"):
        documents = list(_zip_documents(path, max_unpacked))
    else:
        with open(path, "rb") as file:
            documents = [(path.rsplit("/", 1)[-1], file.read(max_unpacked + 1))]
        if len(documents[0][1]) > max_unpacked:
            raise ImportFileError(f"The file is larger than the {max_unpacked:,} bytes an import takes.")
    found: list[Found] = []
    for name, raw in documents:
        data = _json(name, raw)
        if chatgpt.looks_like(data):
            for index, item in enumerate(data):
                found.append(Found(chatgpt.SOURCE, *chatgpt.conversation(item, index)))
                progress(len(found), len(data))
        elif own.looks_like(data):
            found.append(Found(own.SOURCE, *own.conversation(data, name)))
            progress(len(found), len(documents))
        elif isinstance(data, list) and not data:
            continue
        else:
            raise ImportFileError(
                f"{name} is neither ChatGPT's conversations.json (a list of conversations with a "
                "\"mapping\") nor this app's JSON export (an object with \"conversation\" and \"messages\")."
            )
    return found


def _json(name: str, raw: bytes):
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).") from None
    except (UnicodeDecodeError, ValueError):
        raise ImportFileError(f"{name} is not UTF-8 JSON text.") from None
    except RecursionError:
        raise ImportFileError(f"{name} nests too deeply to be read.") from None


def _zip_documents(path: str, max_unpacked: int) -> Iterator[tuple[str, bytes]]:
    """The JSON documents of the zip that hold conversations, read within the limit."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ImportFileError("The file is not a readable zip archive (truncated or damaged).") from None
    with archive:
        entries = archive.infolist()
        for entry in entries:
            name = entry.filename
            normal = posixpath.normpath(name.replace("\\", "/"))
            if normal.startswith(("/", "../")) or normal == ".." or ":" in normal.split("/")[0]:
                raise ImportFileError(f"The zip has an unsafe path name: {name[:100]!r}.")
        wanted = [e for e in entries if posixpath.basename(e.filename) == "conversations.json"]
        if not wanted:
            wanted = [e for e in entries if posixpath.dirname(e.filename).endswith("conversations")
                      and e.filename.endswith(".json") and not e.is_dir()]
        if not wanted:
            raise ImportFileError("The zip holds no conversations.json (ChatGPT's export) and no "
                                  "conversations/*.json (this app's export).")
        budget = max_unpacked
        for entry in wanted:
            data = _bounded(archive, entry, budget)
            budget -= len(data)
            yield entry.filename, data


def _bounded(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int) -> bytes:
    """An entry's bytes, refusing to unpack past `budget` (its header may lie)."""
    if entry.file_size > budget:
        raise ImportFileError(f"{entry.filename} unpacks to more than the {budget:,} bytes an import may take.")
    chunks, size = [], 0
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > budget:
                    raise ImportFileError(f"{entry.filename} unpacks to more than the import limit.")
                chunks.append(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise ImportFileError(f"{entry.filename} cannot be unpacked ({type(exc).__name__}): the zip is damaged.") from None
    return b"".join(chunks)
