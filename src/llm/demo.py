"""The demo models: offline, no key, no network. `demo` explains itself and how to set up a
real model; `demo-terse` answers in one line, so picking a model visibly changes the answer.
Both answer a title request (llm.titles) with a deterministic title."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

from .base import Chunk, LLMConfig, Usage
from .titles import TITLE_INSTRUCTION


class DemoProvider:
    """Streams a canned Markdown answer, word by word, at a human pace."""

    name = "demo"

    def __init__(self, config: LLMConfig):
        self.delay = config.demo_delay
        self.model = config.model or "demo"
        self.terse = self.model == "demo-terse"

    async def stream(self, messages: list[tuple[str, str]], *, temperature: float | None = None,
                     max_tokens: int | None = None) -> AsyncIterator[Chunk | Usage]:
        if messages and messages[0] == ("system", TITLE_INSTRUCTION):
            parts = [("content", demo_title(messages))]
        elif self.terse:
            parts = [("content", _terse_answer(_last_user_line(messages), messages, temperature))]
        else:
            question = _last_user_line(messages)
            reasoning = (
                f"The user asked about “{question}”. I am the offline demo model, so I will say so "
                "and show how to connect a real one."
            )
            parts = [("reasoning", reasoning), ("content", _answer(question))]
        output_words = 0
        for part, text in parts:
            for token in re.findall(r"\s*\S+|\s+", text):
                if self.delay > 0:
                    await asyncio.sleep(self.delay)
                yield Chunk(part, token)
                output_words += 1
        input_words = sum(len(content.split()) for _, content in messages)
        yield Usage(input_tokens=input_words, output_tokens=output_words)


def demo_title(messages: list[tuple[str, str]]) -> str:
    """The title of a title request: "Demo: " and the question's first five words."""
    question = next((content for role, content in messages if role == "user"), "")
    words = " ".join(question.split()[:5]).replace("`", "'")
    return f"Demo: {words}" if words else "Demo chat"


def _terse_answer(question: str, messages: list[tuple[str, str]], temperature: float | None) -> str:
    # Says what reached it, so a browser test can see the conversation's settings at work.
    system = " ".join(content for role, content in messages if role == "system")
    notes = []
    if system:
        notes.append(f"system prompt: “{system if len(system) <= 80 else system[:79] + '…'}”")
    if temperature is not None:
        notes.append(f"temperature {temperature:g}")
    tail = f" ({'; '.join(notes)})" if notes else ""
    return f"Terse demo answer to “{question.replace('`', chr(39))}”.{tail}"


def _last_user_line(messages: list[tuple[str, str]]) -> str:
    for role, content in reversed(messages):
        if role == "user" and content.strip():
            line = content.strip().splitlines()[0].strip()
            return line if len(line) <= 80 else line[:79] + "…"
    return "(nothing yet)"


def _answer(question: str) -> str:
    # Backticks in the question would break the inline code span; quote it as plain text.
    quoted = question.replace("`", "'")
    return f"""## Demo answer

You asked: **{quoted}**

This reply comes from the built-in **demo model**: it runs offline, needs no API key, and
always answers with this sample so you can try streaming, stopping and history.

To get real answers, set these environment variables and restart the server:

- `LLM_PROVIDER`: `openai` or `deepseek` (`demo` is this model)
- `LLM_API_KEY`: your key for that provider
- `LLM_BASE_URL`: an OpenAI-compatible `.../v1` address (optional; for local servers)
- `LLM_MODEL`: the model name (optional)

| Setting | Example |
| --- | --- |
| `LLM_PROVIDER` | `openai` |
| `LLM_MODEL` | `gpt-4o-mini` |
| `LLM_BASE_URL` | `http://localhost:11434/v1` |

```bash
LLM_API_KEY=sk-... bin/run
LLM_BASE_URL=http://localhost:11434/v1 LLM_MODEL=llama3.1 bin/run
```
"""
