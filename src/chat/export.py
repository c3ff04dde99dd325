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

from . import tree

ROLE_NAMES = {"user": "You", "assistant": "Assistant"}


def export_response(snapshot: dict, fmt: str) -> HttpResponse:
    """An attachment response for a snapshot's conversation in `fmt` (markdown or json)."""
    conversation = snapshot["conversation"]
    if fmt == "json":
        body = json.dumps({"conversation": conversation, "messages": snapshot["messages"]},
                          ensure_ascii=False, indent=2)
        content_type, ext = "application/json; charset=utf-8", "json"
    else:
        branch = shown_branch(conversation, snapshot["messages"])
        body = to_markdown(conversation, branch, elsewhere=len(snapshot["messages"]) - len(branch))
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


def shown_branch(conversation: dict, messages: list[dict]) -> list[dict]:
    """The messages of the shown branch, first to last (contract shapes)."""
    pairs = [(m["id"], m["parent_id"]) for m in messages]
    tip = tree.shown_tip(pairs, conversation.get("active_leaf_id"))
    by_id = {m["id"]: m for m in messages}
    return [by_id[i] for i in reversed(tree.path_up(dict(pairs), tip))]


def to_markdown(conversation: dict, messages: list[dict], elsewhere: int = 0) -> str:
    """Messages (the shown branch) as Markdown whose only headings are the title and the
    role headings; `elsewhere` messages on other branches are only counted (the JSON
    export holds every branch).

    Every message's text (and reasoning) is a fenced block longer than any backtick run in
    it, so nothing a user or a model wrote can open a heading, a thematic break or raw HTML
    that forges a role boundary; the text is kept exactly as written, as Markdown source.
    """
    title = _inline(conversation["title"]) or "Untitled chat"
    lines = [
        f"# {title}",
        "",
        f"*Started {_when(conversation['created_at'])} · last activity {_when(conversation['updated_at'])}"
        f" · {len(messages)} message{'' if len(messages) == 1 else 's'}"
        + (f" (the shown branch; {elsewhere} more on other branches are in the JSON export)" if elsewhere else "")
        + "*",
        "",
    ]
    for message in messages:
        lines += ["---", "", _heading(message), ""]
        reasoning = message["reasoning"].strip("\n")
        if reasoning:
            # Folded: readers expand the model's thinking only when they want it.
            lines += ["<details>", "<summary>Reasoning</summary>", "", *_fenced(reasoning), "", "</details>", ""]
        text = message["content"].strip("\n")
        lines += [*(_fenced(text) if text else ["*(no text)*"]), ""]
        if message["error"]:
            lines += [f"> **Error:** {_inline(message['error'])}", ""]
    return "\n".join(lines)


def _fenced(text: str) -> list[str]:
    """`text` verbatim in a code fence that no line of it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}markdown", text, fence]


# What could start markup in a one-line field: HTML, emphasis, links and images, code.
_MARKUP = re.compile(r"([\\`*_\[\]<>#])")


def _inline(text: str) -> str:
    """A title, model name or error as one line of plain text: whitespace runs become one
    space (no new block can start) and markup characters are backslash-escaped."""
    return _MARKUP.sub(r"\\\1", " ".join(text.split()))


def _heading(message: dict) -> str:
    parts = [f"## {ROLE_NAMES.get(message['role'], _inline(message['role']))}", _when(message["created_at"])]
    if message["role"] == "assistant":
        if message["model"]:
            parts.append(_inline(message["model"]))
        if message["status"] != "complete":
            parts.append(message["status"])
    return " · ".join(parts)
