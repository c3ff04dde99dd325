"""ChatGPT's data export (`conversations.json`): each conversation's `mapping` tree into
this app's messages.

What does not fit is handled plainly: system, tool and hidden messages are left out (their
children hang under the nearest message kept), images and other non-text parts become a
placeholder such as `[image]`, null parts are skipped. Branches (edits, regenerations)
stay branches; `current_node` is the shown branch.
"""
from datetime import UTC, datetime

from chat import tree
from chat.services import NewConversation, NewMessage

from .errors import ImportFileError

SOURCE = "chatgpt"
KEPT_ROLES = {"user", "assistant"}
PLACEHOLDERS = {"image_asset_pointer": "[image]", "audio_asset_pointer": "[audio]",
                "real_time_user_audio_video_asset_pointer": "[audio]"}


def looks_like(data) -> bool:
    return isinstance(data, list) and all(isinstance(c, dict) and "mapping" in c for c in data[:5])


def conversation(item, index: int) -> tuple[str, NewConversation]:
    """(source id, conversation) of one item of conversations.json; ImportFileError names
    the item and what is wrong with it."""
    where = f"conversation {index + 1}"
    if not isinstance(item, dict):
        raise ImportFileError(f"{where} is not a JSON object.")
    title = item.get("title")
    if title is not None and not isinstance(title, str):
        raise ImportFileError(f"{where}: \"title\" is not text.")
    where = f"{where} ({(title or 'untitled')[:60]!r})"
    mapping = item.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        raise ImportFileError(f"{where}: \"mapping\" is missing or not an object of messages.")
    created = _time(item.get("create_time"), where, "create_time") or datetime.now(UTC)
    updated = _time(item.get("update_time"), where, "update_time") or created
    source_id = item.get("id") or item.get("conversation_id")
    if not isinstance(source_id, str) or not source_id:
        # No id (hand-made files): the title, time and node ids identify it across imports.
        source_id = f"{title}|{item.get('create_time')}|{','.join(sorted(map(str, mapping))[:20])}"

    nodes = {}
    for key, node in mapping.items():
        if not isinstance(node, dict):
            raise ImportFileError(f"{where}: node {str(key)[:40]!r} is not an object.")
        parent = node.get("parent")
        if parent is not None and parent not in mapping:
            raise ImportFileError(f"{where}: node {str(key)[:40]!r} names a parent that is not in its mapping.")
        nodes[key] = node

    messages: list[NewMessage] = []
    kept: dict = {}  # node id -> the message key it is (itself, or the nearest kept ancestor)
    order = tree.parents_first({key: node.get("parent") for key, node in nodes.items()})
    if order is None:
        raise ImportFileError(f"{where}: its messages' parent links form a loop.")
    for key in order:
        node = nodes[key]
        parent_kept = kept.get(node.get("parent"))
        message = _message(node.get("message"), where, key)
        if message is None:
            kept[key] = parent_kept  # left out: its children hang under its kept ancestor
            continue
        role, text, model, stamp = message
        # Not older than the conversation; chat.services.conversations_create puts each
        # message strictly after its parent.
        messages.append(NewMessage(key=str(key), parent_key=parent_kept, role=role, content=text,
                                   model=model, created_at=max(stamp or created, created)))
        kept[key] = str(key)
    leaf = kept.get(item.get("current_node"))
    return source_id[:200], NewConversation(title=title or "", created_at=created, updated_at=max(updated, created),
                                            messages=messages, leaf_key=leaf)


def _message(message, where: str, key) -> tuple[str, str, str | None, datetime | None] | None:
    """(role, text, model, time) of a node's message, or None when it is left out."""
    if message is None:
        return None
    if not isinstance(message, dict):
        raise ImportFileError(f"{where}: the message of node {str(key)[:40]!r} is not an object.")
    author = message.get("author") or {}
    role = author.get("role") if isinstance(author, dict) else None
    metadata = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
    if role not in KEPT_ROLES or metadata.get("is_visually_hidden_from_conversation"):
        return None
    text = _text(message.get("content"), where, key)
    if not text.strip():
        return None
    model = metadata.get("model_slug") if role == "assistant" else None
    return role, text.replace("\x00", ""), model if isinstance(model, str) else None, \
        _time(message.get("create_time"), where, f"create_time of node {str(key)[:40]!r}")


def _text(content, where: str, key) -> str:
    if content is None:
        return ""
    if not isinstance(content, dict):
        raise ImportFileError(f"{where}: the content of node {str(key)[:40]!r} is not an object.")
    kind = content.get("content_type")
    if kind == "code" and isinstance(content.get("text"), str):
        return f"```\n{content['text']}\n```"
    if isinstance(content.get("text"), str) and "parts" not in content:
        return content["text"]
    parts = content.get("parts") or []
    if not isinstance(parts, list):
        raise ImportFileError(f"{where}: the parts of node {str(key)[:40]!r} are not a list.")
    pieces = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, str):
            if part:
                pieces.append(part)
        elif isinstance(part, dict):
            part_kind = str(part.get("content_type", "attachment"))
            pieces.append(PLACEHOLDERS.get(part_kind, f"[{part_kind.replace('_', ' ')}]"))
        else:
            pieces.append(str(part))
    return "\n\n".join(pieces)


def _time(value, where: str, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ImportFileError(f"{where}: \"{name}\" is not a number of seconds.")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ImportFileError(f"{where}: \"{name}\" is not a usable time.") from None
