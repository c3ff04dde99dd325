"""The shapes every provider shares: what a streamed answer is made of, and how it fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class Usage:
    """Token counts the upstream reported for one answer."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class Chunk:
    """One piece of an answer as it streams."""

    part: Literal["content", "reasoning"]
    text: str


@dataclass(frozen=True)
class LLMConfig:
    """Everything needed to build a provider; see docs/settings.md."""

    provider: str  # "demo" | "openai" | "deepseek"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    extra_body: dict | None = None  # merged into every upstream request body
    timeout: float = 60.0  # the HTTP client's read timeout, per request and per read, seconds
    max_retries: int = 2
    # Wall-clock limits of one answer, retries included: from the request to its first token
    # (content or reasoning), and between two chunks after it.
    first_token_timeout: float = 30.0
    idle_timeout: float = 20.0
    demo_delay: float = 0.03  # seconds between demo tokens

    def cache_key(self) -> tuple:
        """A hashable identity (extra_body is a dict, so the dataclass itself is not hashable)."""
        import json

        extra = json.dumps(self.extra_body, sort_keys=True, default=str) if self.extra_body else None
        return (
            self.provider,
            self.model,
            self.base_url,
            self.api_key,
            extra,
            self.timeout,
            self.max_retries,
            self.first_token_timeout,
            self.idle_timeout,
            self.demo_delay,
        )

    def __hash__(self) -> int:
        return hash(self.cache_key())


class UpstreamError(Exception):
    """An upstream failure, with a message a chat user can read, e.g.
    'The model server answered HTTP 500.', and its `kind` for operators (metrics): one of
    timeout, connection, connection_lost, auth, not_found, rate_limited, http, malformed,
    other."""

    def __init__(self, message: str = "", kind: str = "other"):
        super().__init__(message)
        self.kind = kind


class ConfigurationError(ValueError):
    """The LLM settings cannot work (unknown provider, missing key)."""


class Provider(Protocol):
    """A chat model that streams answers."""

    name: str
    model: str

    def stream(self, messages: list[tuple[str, str]], *, temperature: float | None = None,
               max_tokens: int | None = None) -> AsyncIterator[Chunk | Usage]:
        """Stream the answer to `messages` ((role, content), role in system/user/assistant).

        `temperature` (0..2) goes into this request only; None leaves the model's default.
        `max_tokens` caps this reply (titles); None: the upstream's own limit.

        Yields `Chunk`s with non-empty text and, at most once at the end, a `Usage`.
        Raises `UpstreamError` on any upstream failure; cancellation propagates untouched.
        Iterate it inside `contextlib.aclosing()` so stopping closes the upstream request.
        """
        ...
