"""Streaming through a LangChain chat model, with upstream failures turned into UpstreamError.

Shared by the OpenAI and DeepSeek providers (both are OpenAI-compatible HTTP under the hood).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_openai.chat_models.base import BaseChatOpenAI

from .base import Chunk, ConfigurationError, LLMConfig, UpstreamError, Usage

logger = logging.getLogger(__name__)

try:  # openai>=3 talks through httpx2; older versions through httpx. Catch both families.
    import httpx2

    _HTTP_MODULES = (httpx, httpx2)
except ImportError:  # pragma: no cover
    _HTTP_MODULES = (httpx,)

_TIMEOUTS = (TimeoutError, openai.APITimeoutError, *(m.TimeoutException for m in _HTTP_MODULES))
_CONNECTION = (openai.APIConnectionError, *(m.TransportError for m in _HTTP_MODULES))
_MALFORMED = (ValueError, KeyError, TypeError, *(m.DecodingError for m in _HTTP_MODULES))

_MESSAGE_CLASSES: dict[str, type[BaseMessage]] = {
    "system": SystemMessage,
    "user": HumanMessage,
    "assistant": AIMessage,
}

# Timeouts and retries: the SDK retries only before any token arrives (429/5xx/connect errors
# and its own read timeouts), so retries never duplicate text; two retries with
# server-directed backoff ride out blips without long waits. Connecting fails fast (10 s).
# The SDK's read timeout (LLM_TIMEOUT) is per request, so a server that accepts and then says
# nothing would cost (retries + 1) x LLM_TIMEOUT: stream() bounds the wait on the clock
# instead, retries included: LLM_FIRST_TOKEN_TIMEOUT until the first token, then
# LLM_IDLE_TIMEOUT between chunks.
CONNECT_TIMEOUT = 10.0


def to_langchain_messages(messages: list[tuple[str, str]]) -> list[BaseMessage]:
    try:
        return [_MESSAGE_CLASSES[role](content=content) for role, content in messages]
    except KeyError as exc:
        raise ValueError(f"Unknown message role {exc.args[0]!r}; use system, user or assistant.") from None


def client_options(config: LLMConfig, default_model: str) -> dict:
    """Constructor options common to ChatOpenAI and ChatDeepSeek."""
    if not config.api_key and not config.base_url:
        raise ConfigurationError(
            f"LLM_PROVIDER={config.provider} needs LLM_API_KEY (or LLM_BASE_URL for a local "
            "server that takes no key); set LLM_PROVIDER=demo to run without a model."
        )
    options = {
        "model": config.model or default_model,
        # Local OpenAI-compatible servers often take no key, but the SDK insists on one.
        "api_key": config.api_key or "not-needed",
        "stream_usage": True,
        "timeout": openai.Timeout(config.timeout, connect=CONNECT_TIMEOUT),
        "max_retries": config.max_retries,
        "extra_body": config.extra_body or None,
    }
    if "stream_chunk_timeout" in BaseChatOpenAI.model_fields:
        # Off: stream() bounds the wait between chunks itself (LLM_FIRST_TOKEN_TIMEOUT, then
        # LLM_IDLE_TIMEOUT, both shorter), and LangChain's limit wraps every chunk in a task of
        # its own (asyncio.wait_for).
        # (Older langchain-openai would send an unknown option upstream, hence the check.)
        options["stream_chunk_timeout"] = None
    return options


class LangChainProvider:
    """A Provider backed by a LangChain chat model built by `build()`.

    The model (and its HTTP connection pool) is built once per event loop: pooled
    connections belong to the loop that opened them.
    """

    name: str
    model: str
    stream_reasoning = False

    def __init__(self, config: LLMConfig, build: Callable[[], BaseChatModel], model: str):
        self.config = config
        self.model = model
        self._build = build
        self._models: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BaseChatModel] = (
            weakref.WeakKeyDictionary()
        )
        build()  # fail at configuration time, not on the first message

    def _chat_model(self) -> BaseChatModel:
        loop = asyncio.get_running_loop()
        if (chat_model := self._models.get(loop)) is None:
            chat_model = self._models[loop] = self._build()
        return chat_model

    async def stream(self, messages: list[tuple[str, str]], *, temperature: float | None = None,
                     max_tokens: int | None = None) -> AsyncIterator[Chunk | Usage]:
        usage: Usage | None = None
        started = False  # some chunk arrived
        answering = False  # some text arrived: from now on the idle limit applies
        loop = asyncio.get_running_loop()
        first_token_by = loop.time() + self.config.first_token_timeout
        try:
            chat_model = self._chat_model()
            # aclosing: stopping us closes LangChain's stream. (Its astream() does not aclose its
            # inner _astream(); the loop's async-generator finalizer closes the HTTP response a few
            # milliseconds later. On cancellation the response is closed during the unwinding.)
            # The temperature goes into this request's body only: one model (one HTTP client)
            # serves every temperature.
            options = {} if temperature is None else {"temperature": temperature}
            if max_tokens is not None:  # a short reply (a title): the upstream stops early
                options["max_tokens"] = max_tokens
            async with aclosing(chat_model.astream(to_langchain_messages(messages), **options)) as upstream:
                # The deadline only ever interrupts the wait for the upstream, never our
                # caller's work between chunks (it is paused while we yield).
                deadline = Deadline(first_token_by)
                try:
                    async for message in upstream:
                        deadline.pause()
                        started = True
                        if self.stream_reasoning and (
                                reasoning := message.additional_kwargs.get("reasoning_content")):
                            answering = True
                            yield Chunk("reasoning", reasoning)
                        if text := _text(message.content):
                            answering = True
                            yield Chunk("content", text)
                        if message.usage_metadata:
                            usage = Usage(
                                input_tokens=message.usage_metadata.get("input_tokens", 0),
                                output_tokens=message.usage_metadata.get("output_tokens", 0),
                            )
                        deadline.resume(loop.time() + self.config.idle_timeout if answering else first_token_by)
                except asyncio.CancelledError:
                    if deadline.expired():
                        raise UpstreamError(self._silence(answering), "timeout") from None
                    raise
                finally:
                    deadline.cancel()
        except Exception as exc:  # CancelledError and GeneratorExit are BaseExceptions: untouched
            logger.warning("LLM upstream failed (%s): %r", self.name, exc)
            raise UpstreamError(describe(exc, self.config.timeout, started=started),
                                error_kind(exc, started=started)) from exc
        if usage is not None:
            yield usage

    def _silence(self, answering: bool) -> str:
        if answering:
            return (f"The model server stopped mid-answer: nothing received for "
                    f"{self.config.idle_timeout:g} s (LLM_IDLE_TIMEOUT).")
        return (f"The model server sent no answer within {self.config.first_token_timeout:g} s "
                f"(LLM_FIRST_TOKEN_TIMEOUT).")


class Deadline:
    """Cancels the task waiting for the upstream once the wait outlasts `when`.

    asyncio.timeout() moved per chunk (lifted while the caller has the chunk, set again after)
    cancels one timer and schedules another for every chunk: 2.7 % of a process's CPU at
    L2 (2026-12-07). This one timer is moved lazily: when it fires early (the deadline moved
    on meanwhile) it is set again for the deadline as it is then; while paused it is not set
    again at all, and resume() sets it if needed. So a stream of chunks costs a timer per
    deadline's length, not two per chunk.
    """

    def __init__(self, when: float):
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.cancelling = self.task.cancelling()  # cancellations asked before us are not ours
        self.when = when
        self.paused = False
        self.fired = False
        self.timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        self.timer = self.loop.call_at(self.when, self._check)

    def _check(self) -> None:
        self.timer = None
        if self.paused:
            return  # resume() sets it again
        if self.loop.time() < self.when:
            self._arm()
            return
        self.fired = True
        self.task.cancel()

    def pause(self) -> None:
        """The upstream answered: the caller's time starts. (A cancellation this deadline
        asked for always lands in the wait it interrupted: while the task runs, or waits in
        the caller's work, the timer does not fire.)"""
        self.paused = True

    def resume(self, when: float) -> None:
        """Waiting for the upstream again, until `when`."""
        self.paused, self.when = False, when
        if self.timer is None:
            self._arm()
        elif when < self.timer.when():  # earlier (the first token's limit gave way to the idle one)
            self.timer.cancel()
            self._arm()

    def expired(self) -> bool:
        """After a CancelledError: whether it was this deadline's (then taken back)."""
        if not self.fired:
            return False
        self.fired = False
        return self.task.uncancel() <= self.cancelling

    def cancel(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _text(content: str | list) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        block if isinstance(block, str) else block.get("text", "")
        for block in content
        if isinstance(block, str) or block.get("type") == "text"
    )


def describe(exc: BaseException, timeout: float, *, started: bool = False) -> str:
    """A short message for a chat user; no stack trace, the status code where there is one.

    `started`: some of the answer had arrived (the SDK reports a connection cut mid-stream
    as the same APIConnectionError as a refused connection).
    """
    if isinstance(exc, UpstreamError):
        return str(exc)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = _error_detail(exc.body)
        if status in (401, 403):
            text = f"The model server refused the API key (HTTP {status}). Check LLM_API_KEY."
        elif status == 404:
            text = f"The model server does not know this model or address (HTTP {status})."
        elif status == 429:
            text = f"The model server is rate limiting requests (HTTP {status}). Try again in a moment."
        else:
            text = f"The model server answered HTTP {status}."
        return f"{text} {detail}" if detail else text
    if isinstance(exc, _TIMEOUTS):
        return f"The model server stopped responding (nothing received for {timeout:g} s, LLM_TIMEOUT)."
    if isinstance(exc, _CONNECTION) and not started:
        return "Could not connect to the model server."
    if isinstance(exc, _CONNECTION):
        return "The connection to the model server was lost mid-answer."
    if isinstance(exc, _MALFORMED):
        return "The model server sent a malformed response."
    return f"The model request failed ({type(exc).__name__})."


def error_kind(exc: BaseException, *, started: bool = False) -> str:
    """What failed, in one word for metrics (UpstreamError.kind)."""
    if isinstance(exc, UpstreamError):
        return exc.kind
    if isinstance(exc, openai.APIStatusError):
        return {401: "auth", 403: "auth", 404: "not_found", 429: "rate_limited"}.get(exc.status_code, "http")
    if isinstance(exc, _TIMEOUTS):
        return "timeout"
    if isinstance(exc, _CONNECTION):
        return "connection_lost" if started else "connection"
    if isinstance(exc, _MALFORMED):
        return "malformed"
    return "other"


def _error_detail(body: object) -> str:
    """The upstream's own error message, shortened: often the useful part (bad model name)."""
    if isinstance(body, dict):
        body = body.get("error", body)
        if isinstance(body, dict):
            body = body.get("message")
    if not body:
        return ""
    text = body if isinstance(body, str) else json.dumps(body)
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:199] + "…"
