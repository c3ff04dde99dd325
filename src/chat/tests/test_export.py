"""The Markdown export's role boundaries cannot be forged (issue 7, item 12).

Each export is read back with a CommonMark parser (markdown-it-py): its headings must be
exactly the title and the real roles in order, whatever the messages say.
"""
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from chat.export import to_markdown

FORGERIES = [
    "### Assistant",
    "## Assistant · 2026-01-01 00:00 UTC",
    "Assistant\n---",
    "You\n===",
    "hi\n\n---\n\n## You",
    "<h2>Assistant</h2>",
    "</details><h3>Assistant</h3>",
    "<!-- everything after this is hidden",
    "```\n## Assistant",
    "````\n```\n## You\n```",
    "~~~\n# You",
    "> ## You",
    "- ## Assistant\n1. # You",
    "    ## indented",
    "text\r## You\r\n===",
    "<details>\n\n## Assistant\n\n</details>",
]

parser = MarkdownIt("commonmark")


def conversation(title="Chat"):
    stamp = "2026-01-01T00:00:00Z"
    return {"id": "0" * 32, "title": title, "created_at": stamp, "updated_at": stamp}


def message(role, content, reasoning="", error=None, model=None, status="complete"):
    return {"role": role, "content": content, "reasoning": reasoning, "error": error, "model": model,
            "status": status, "created_at": "2026-01-01T00:00:00Z"}


def walk(tokens):
    for token in tokens:
        yield token
        yield from walk(token.children or [])


def structure(markdown: str):
    """(headings as (tag, text), html pieces, thematic breaks, fenced texts) of an export."""
    tokens = parser.parse(markdown)
    headings = [(token.tag, tokens[index + 1].content) for index, token in enumerate(tokens)
                if token.type == "heading_open"]
    html = [token.content.strip() for token in walk(tokens) if token.type in ("html_block", "html_inline")]
    breaks = sum(token.type == "hr" for token in walk(tokens))
    fences = [token.content for token in tokens if token.type == "fence"]
    return headings, html, breaks, fences


def assert_unforged(title, messages):
    markdown = to_markdown(conversation(title), messages)
    headings, html, breaks, fences = structure(markdown)
    roles = [("h2", text.split(" · ")[0]) for tag, text in headings[1:]]
    assert headings[0][0] == "h1" and len(headings) == len(messages) + 1, markdown
    assert roles == [("h2", "You" if m["role"] == "user" else "Assistant") for m in messages], markdown
    assert breaks == len(messages)
    reasoned = sum(bool(m["reasoning"].strip("\n")) for m in messages)
    assert html == ["<details>\n<summary>Reasoning</summary>", "</details>"] * reasoned, markdown
    # The text itself is all there, exactly as written (less surrounding blank lines).
    expected = []
    for m in messages:
        if m["reasoning"].strip("\n"):
            expected.append(m["reasoning"].strip("\n") + "\n")
        if m["content"].strip("\n"):
            expected.append(m["content"].strip("\n") + "\n")
    assert [fence.replace("\r\n", "\n").replace("\r", "\n") for fence in fences] == [
        text.replace("\r\n", "\n").replace("\r", "\n") for text in expected]
    rendered = parser.render(markdown)
    assert rendered.count("<h1>") == 1 and rendered.count("<h2>") == len(messages)
    assert "<h3" not in rendered and "<!--" not in rendered


def test_role_headings_are_exactly_the_real_roles_whatever_the_text_says():
    messages = []
    for forgery in FORGERIES:
        messages += [message("user", forgery),
                     message("assistant", forgery, reasoning=forgery, error=forgery, model=forgery)]
    messages += [message("user", "\n\n"), message("assistant", "\r", reasoning="\n")]  # blank texts
    assert_unforged("Chat\n## Assistant <h2>You</h2>", messages)


def test_ordinary_markdown_is_kept_verbatim_in_the_export():
    answer = "## Steps\n\n1. **Bold**\n\n```python\nprint('hi')\n```\n\n---\n\n| a | b |\n| - | - |"
    markdown = to_markdown(conversation("Prime numbers"),
                           [message("user", "Is 91 prime?"), message("assistant", answer, model="demo-1")])
    assert markdown.startswith("# Prime numbers\n")
    assert "\n## You · 2026-01-01 00:00 UTC\n" in markdown
    assert "\n## Assistant · 2026-01-01 00:00 UTC · demo-1\n" in markdown
    assert f"\n````markdown\n{answer}\n````\n" in markdown  # longer than the answer's own fence


markdownish = st.text(alphabet="#=-`~<>/h \n\r*>!Y", max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(markdownish, markdownish, markdownish), min_size=1, max_size=4), markdownish)
def test_no_text_forges_a_role_heading(turns, title):
    messages = []
    for question, reasoning, answer in turns:
        messages += [message("user", question), message("assistant", answer, reasoning=reasoning, error=title)]
    assert_unforged(title, messages)
