"""A realistic long Markdown answer for the client benchmark (frontend/bench/stream.mjs).

    python bench/client_answer.py --tokens 12000 > answer.md

Headings, paragraphs with inline marks and links, bullet and numbered lists (some nested),
GFM tables, and 30-80-line code blocks in Python and TypeScript, repeated with variations
until the text has `tokens` tokens as the fake upstream splits them (tests.fake_upstream).
Deterministic, so every run streams the same text. Ends on a plain sentence, so the bench
can see the last token arrive on screen.
"""
import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fake_upstream import split_words  # noqa: E402

WORDS = (
    "the request handler reads each row once and keeps a small cache so that later lookups stay cheap "
    "while the worker pool drains the queue in order and reports progress back to the caller through events"
).split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
    i = rng.randrange(len(words))
    words[i] = rng.choice([f"**{words[i]}**", f"*{words[i]}*", f"`{words[i]}()`", f"[{words[i]}](https://example.com/{words[i]})"])
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))


def python_block(rng: random.Random, lines: int) -> str:
    out = ["```python", "from dataclasses import dataclass", "", "", "@dataclass", "class Job:",
           "    name: str", "    retries: int = 3", ""]
    n = 0
    while len(out) < lines:
        n += 1
        out += [
            "",
            f"def process_{n}(jobs: list[Job], limit: int = {rng.randint(2, 99)}) -> dict[str, int]:",
            f'    """Run up to `limit` jobs and count the outcomes (step {n})."""',
            "    counts: dict[str, int] = {}",
            "    for job in jobs[:limit]:",
            "        try:",
            "            result = job.name.upper() if job.retries > 0 else None",
            '            counts["ok" if result else "skipped"] = counts.get("ok", 0) + 1',
            "        except ValueError as error:  # a bad name is not fatal",
            f'            print(f"job {{job.name}} failed: {{error}}", {n})',
            "    return counts",
        ]
    return "\n".join(out[:lines] + ["```"])


def typescript_block(rng: random.Random, lines: int) -> str:
    out = ["```ts", "interface Row {", "  id: string;", "  title: string;", "  updatedAt: number;", "}", ""]
    n = 0
    while len(out) < lines:
        n += 1
        out += [
            f"export async function loadPage{n}(cursor: string | null, size = {rng.randint(10, 90)}): Promise<Row[]> {{",
            "  const params = new URLSearchParams({ size: String(size) });",
            "  if (cursor) params.set('cursor', cursor);",
            "  const response = await fetch(`/api/rows?${params}`);",
            "  if (!response.ok) throw new Error(`HTTP ${response.status}`);",
            "  const rows = (await response.json()) as Row[];",
            "  return rows.filter((row) => row.title.length > 0).sort((a, b) => b.updatedAt - a.updatedAt);",
            "}",
            "",
        ]
    return "\n".join(out[:lines] + ["```"])


def table(rng: random.Random) -> str:
    rows = ["| Setting | Default | Effect |", "| --- | --- | --- |"]
    for _ in range(rng.randint(3, 7)):
        rows.append(f"| `{rng.choice(WORDS)}_{rng.choice(WORDS)}` | {rng.randint(1, 500)} | {sentence(rng)} |")
    return "\n".join(rows)


def bullets(rng: random.Random) -> str:
    items = [f"- {sentence(rng)}" for _ in range(rng.randint(3, 6))]
    items.insert(2, f"  - {sentence(rng)}\n  - {sentence(rng)}")
    return "\n".join(items)


def numbered(rng: random.Random) -> str:
    return "\n".join(f"{i}. **Step {i}.** {sentence(rng)}" for i in range(1, rng.randint(4, 7)))


def answer(tokens: int, seed: int = 9) -> str:
    rng = random.Random(seed)
    parts = ["Here is a complete walkthrough, with code you can adapt.\n\n"]
    count = len(split_words(parts[0]))
    section = 0
    ending = "\n\nThat is the whole walkthrough; ask if any step needs more detail."
    budget = tokens - len(split_words(ending))
    while count < budget:
        section += 1
        pieces = [f"## {section}. {sentence(rng)[:-1]}", paragraph(rng), bullets(rng) if section % 2 else numbered(rng),
                  paragraph(rng)]
        if section % 3 == 0:
            pieces.append(table(rng))
        code = python_block if section % 2 else typescript_block
        pieces += [code(rng, rng.randint(30, 80)), paragraph(rng)]
        for piece in pieces:
            text = piece + "\n\n"
            words = split_words(text)
            if count + len(words) > budget:
                words = words[: budget - count]
                parts.append("".join(words).rstrip())
                count = budget
                break
            parts.append(text)
            count += len(words)
        else:
            continue
        break
    body = "".join(parts).rstrip()
    if body.count("```") % 2:  # cut inside a code block: close it
        body += "\n```"
    return body + ending


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=3000)
    args = parser.parse_args()
    text = answer(args.tokens)
    sys.stdout.write(text)
    print(f"{len(split_words(text))} tokens, {len(text)} characters", file=sys.stderr)
