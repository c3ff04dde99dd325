"""This app's own JSON export (`{"conversation": Conversation, "messages": [Message]}`, the
contract's shapes; one per file of the bulk export) back into conversations."""
from datetime import datetime

from chat import tree
from chat.services import NewConversation, NewMessage

from .errors import ImportFileError

SOURCE = "chat-json"
ROLES = {"user", "assistant"}
STATUSES = {"complete", "stopped", "error", "interrupted"}  # "streaming" comes in as interrupted


def looks_like(data) -> bool:
    return isinstance(data, dict) and isinstance(data.get("conversation"), dict) and "messages" in data


def conversation(data: dict, where: str) -> tuple[str, NewConversation]:
    head = data["conversation"]
    source_id = head.get("id")
    if not isinstance(source_id, str) or not source_id:
        raise ImportFileError(f"{where}: the conversation has no \"id\".")
    title = head.get("title") or ""
    if not isinstance(title, str):
        raise ImportFileError(f"{where}: \"title\" is not text.")
    created = _time(head.get("created_at"), where, "created_at")
    updated = _time(head.get("updated_at"), where, "updated_at") if head.get("updated_at") else created
    rows = data["messages"]
    if not isinstance(rows, list):
        raise ImportFileError(f"{where}: \"messages\" is not a list.")
    messages, seen, parents = [], set(), {}
    for number, row in enumerate(rows, 1):
        spot = f"{where}, message {number}"
        if not isinstance(row, dict):
            raise ImportFileError(f"{spot} is not an object.")
        key, parent, role = row.get("id"), row.get("parent_id"), row.get("role")
        if not isinstance(key, str) or key in seen:
            raise ImportFileError(f"{spot}: \"id\" is missing or repeated.")
        if role not in ROLES:
            raise ImportFileError(f"{spot}: \"role\" must be user or assistant.")
        if parent is not None and not isinstance(parent, str):
            raise ImportFileError(f"{spot}: \"parent_id\" is not a message id.")
        for name in ("content", "reasoning"):
            if not isinstance(row.get(name, ""), str):
                raise ImportFileError(f"{spot}: \"{name}\" is not text.")
        status = row.get("status", "complete")
        if status == "streaming":
            status = "interrupted"  # it was being written when exported
        if status not in STATUSES:
            raise ImportFileError(f"{spot}: unknown \"status\" {str(status)[:20]!r}.")
        model, error = row.get("model"), row.get("error")
        messages.append(NewMessage(
            key=key, parent_key=parent, role=role, content=row.get("content", "").replace("\x00", ""),
            reasoning=(row.get("reasoning") or "").replace("\x00", ""), status=status,
            model=model if isinstance(model, str) else None, error=error if isinstance(error, str) else None,
            created_at=_time(row.get("created_at"), spot, "created_at"),
        ))
        seen.add(key)
        parents[key] = parent
    for number, (key, parent) in enumerate(parents.items(), 1):
        if parent is not None and parent not in parents:
            raise ImportFileError(f"{where}, message {number}: \"parent_id\" names no message of the file.")
    order = tree.parents_first(parents)
    if order is None:
        raise ImportFileError(f"{where}: its messages' parent links form a loop.")
    position = {key: index for index, key in enumerate(order)}
    messages.sort(key=lambda message: position[message.key])  # parents before their children
    leaf = head.get("active_leaf_id")
    return source_id[:200], NewConversation(title=title, created_at=created, updated_at=max(updated, created),
                                            messages=messages, leaf_key=leaf if leaf in seen else None)


def _time(value, where: str, name: str) -> datetime:
    if not isinstance(value, str):
        raise ImportFileError(f"{where}: \"{name}\" is missing or not an ISO 8601 time.")
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ImportFileError(f"{where}: \"{name}\" is not an ISO 8601 time.") from None
    if stamp.tzinfo is None:
        raise ImportFileError(f"{where}: \"{name}\" has no time zone.")
    return stamp
