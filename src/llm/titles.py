"""Asking a conversation's model for a short title of its first exchange."""
from __future__ import annotations

import re
from contextlib import aclosing

from .base import Chunk, Provider

# The demo model recognises this instruction and answers with a deterministic title.
TITLE_INSTRUCTION = (
    "You name conversations. Reply with a title of at most six words for the conversation "
    "below: no quotes, no final punctuation, nothing else."
)
EXCERPT_CHARS = 2000  # of the question and of the answer: a title needs no more
TITLE_MAX = 60
READ_MAX = 400  # characters of the reply read at most
# Tokens the upstream may write: a title is a few words, and a long reply costs the upstream,
# this process's CPU and the user's budget.
TITLE_TOKENS = 32


def title_request(question: str, answer: str) -> list[tuple[str, str]]:
    return [
        ("system", TITLE_INSTRUCTION),
        ("user", question[:EXCERPT_CHARS]),
        ("assistant", answer[:EXCERPT_CHARS]),
        ("user", "Title of this conversation?"),
    ]


async def ask_title(provider: Provider, question: str, answer: str) -> str:
    """The model's title, cleaned (one line, no quotes, at most TITLE_MAX characters); ""
    when it gave nothing usable. Raises UpstreamError as stream() does."""
    text = ""
    async with aclosing(provider.stream(title_request(question, answer), max_tokens=TITLE_TOKENS)) as stream:
        async for item in stream:
            if isinstance(item, Chunk) and item.part == "content":
                text += item.text
                # The first line is the title: a model that goes on is not waited for
                # (leaving the loop closes the request).
                if "\n" in text.lstrip() or len(text) > READ_MAX:
                    break
    return clean_title(text)


def clean_title(text: str) -> str:
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^[\s#>*`\-+]*(title:\s*)?", "", line, flags=re.IGNORECASE)
    line = re.sub(r"\s+", " ", line).strip().strip("\"'“”‘’*`").strip().rstrip(".")
    if len(line) > TITLE_MAX:
        line = (line[:TITLE_MAX].rsplit(" ", 1)[0] or line[:TITLE_MAX]).rstrip(" ,.;:") + "…"
    return line
