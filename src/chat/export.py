"""A conversation as a download: readable Markdown, or the contract's JSON shapes.

Both are built from a snapshot (chat.actions.snapshot), so an answer still being
written is exported with the text it has so far.
"""
import json
import re
import unicodedata
from datetime import datetime

from django.http import HttpResponse
from django.utils.http import content_disposition_header

ROLE_NAMES = {"user": "You", "assistant": "Assistant"}


def export_response(snapshot: dict, fmt: str) -> HttpResponse:
    """An attachment response for a snapshot's conversation in `fmt` (markdown or json)."""
    conversation = snapshot["conversation"]
    if fmt == "json":
        body = json.dumps({"conversation": conversation, "messages": snapshot["messages"]},
                          ensure_ascii=False, indent=2)
        content_type, ext = "application/json; charset=utf-8", "json"
    else:
        body = to_markdown(conversation, snapshot["messages"])
        content_type, ext = "text/markdown; charset=utf-8", "md"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{filename_stem(conversation)}.{ext}"
    )
    return response


def filename_stem(conversation: dict) -> str:
    """`chat-<title slug>-<first 8 of id>`: readable, unique enough, safe on every OS."""
    text = unicodedata.normalize("NFKD", conversation["title"]).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:50].strip("-")
    return "-".join(part for part in ("chat", slug, conversation["id"][:8]) if part)


def _when(stamp: str) -> str:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")


def to_markdown(conversation: dict, messages: list[dict]) -> str:
    title = conversation["title"] or "Untitled chat"
    lines = [
        f"# {title}",
        "",
        f"*Started {_when(conversation['created_at'])} · last activity {_when(conversation['updated_at'])}"
        f" · {len(messages)} message{'' if len(messages) == 1 else 's'}*",
        "",
    ]
    for message in messages:
        lines += ["---", "", _heading(message), ""]
        if message["reasoning"]:
            # Folded: readers expand the model's thinking only when they want it.
            lines += ["<details>", "<summary>Reasoning</summary>", "", message["reasoning"].strip("\n"),
                      "", "</details>", ""]
        lines += [message["content"].strip("\n") or "*(no text)*", ""]
        if message["error"]:
            lines += [f"> **Error:** {message['error']}", ""]
    return "\n".join(lines)


def _heading(message: dict) -> str:
    parts = [f"### {ROLE_NAMES.get(message['role'], message['role'])}", _when(message["created_at"])]
    if message["role"] == "assistant":
        if message["model"]:
            parts.append(message["model"])
        if message["status"] != "complete":
            parts.append(message["status"])
    return " · ".join(parts)
