"""A real HTTP server on loopback that speaks OpenAI's streaming chat-completions protocol.

Tests enqueue a `Scenario` (tokens, pacing, usage, failure mode) per request and read back
what the client sent. Standard library only: an asyncio server in a background thread, one
request per connection (`Connection: close`), so a client that leaves mid-stream is seen as
EOF on the socket and recorded in `closed_early`.

Standalone, for browser tests::

    python -m tests.fake_upstream --port 8765 --delay 0.02 --words 400
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_ERROR_TYPES = {
    401: "invalid_request_error",
    429: "rate_limit_exceeded",
}


# A stamped token's emit time, as Scenario.stamp writes it after the token's text.
STAMP = re.compile(r"\|(\d+\.\d+)")


@dataclass
class Scenario:
    """How the server answers one request.

    Chunk counts (`drop_after`, `malformed_after`, `hang_after`) count token chunks, reasoning
    and content together. `usage="auto"` reports the request's word count and the number of
    content tokens; `None` sends no usage chunk. Usage is only sent when the request asked for
    it (`stream_options.include_usage`), as OpenAI does.
    """

    content: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " fake", " upstream."])
    reasoning: list[str] = field(default_factory=list)
    delay: float = 0.0
    # Before the first token: a real model's time to first token (its prompt's processing).
    first_delay: float = 0.0
    usage: tuple[int, int] | None | Literal["auto"] = "auto"
    status: int | None = None
    error_message: str | None = None
    # Sent as `retry-after-ms` on error statuses so the SDK's retries are quick (None: omit).
    retry_after_ms: int | None = 10
    drop_after: int | None = None
    malformed_after: int | None = None
    hang_after: int | None = None
    # Read the request, then send nothing at all (not even a status line) until the client leaves.
    silent: bool = False
    # Benchmarks: each token goes out as `<token>|<time.time() at emit>`, so a client on the
    # same machine can tell how long every token took to reach it.
    stamp: bool = False

    @staticmethod
    def words(text: str, **kwargs: Any) -> Scenario:
        """A scenario whose content is `text` split into word-ish tokens (joined back exactly)."""
        return Scenario(content=split_words(text), **kwargs)

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)


def split_words(text: str) -> list[str]:
    """Split text into tokens that concatenate back to exactly `text`."""
    return re.findall(r"\s*\S+|\s+", text)


def markdown_answer(words: int = 300) -> str:
    """A long Markdown answer of roughly `words` words, for the standalone default scenario."""
    parts = [
        "## A streamed answer from the fake upstream\n\n",
        "This text comes from `tests/fake_upstream.py`, token by token, so the UI can be "
        "checked without a real model.\n\n",
        "- **Bold**, *italic* and `inline code`\n- A [link](https://example.com)\n- Lists\n\n",
        "| Part | Meaning |\n| --- | --- |\n| reasoning | thinking before the answer |\n"
        "| content | the answer itself |\n\n",
        "```python\ndef greet(name: str) -> str:\n    return f\"Hello, {name}!\"\n```\n\n",
    ]
    filler = (
        "Streaming keeps going so that stop, reconnect and scrolling can be tried while the "
        "answer grows paragraph by paragraph. "
    ).split()
    count = sum(len(part.split()) for part in parts)
    paragraph: list[str] = []
    for word in itertools.cycle(filler):
        if count >= words:
            break
        paragraph.append(word)
        count += 1
        if len(paragraph) >= 40:
            parts.append(" ".join(paragraph) + "\n\n")
            paragraph = []
    if paragraph:
        parts.append(" ".join(paragraph) + "\n")
    return "".join(parts)


class FakeUpstream:
    """The server. `start()` it, point a client at `.base_url`, `enqueue()` scenarios."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, default: Scenario | None = None):
        self.host = host
        self.port = port
        self._initial_default = default or Scenario()
        self.default = self._initial_default
        self.requests: list[dict] = []
        self.closed_early: list[int] = []  # indexes into `requests` the client left mid-stream
        self._queue: deque[Scenario] = deque()
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task] = set()
        self._ids = itertools.count(1)

    # -- control (any thread) ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> FakeUpstream:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, self.host, self.port)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if not self._loop or not self._thread:
            return

        async def shutdown() -> None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = self._thread = None

    def enqueue(self, *scenarios: Scenario) -> None:
        """Queue behaviours for the next requests, first in first out."""
        with self._cond:
            self._queue.extend(scenarios)

    def reset(self) -> None:
        """Forget requests, early closes and queued scenarios; restore the initial default scenario."""
        with self._cond:
            self._queue.clear()
            self.requests.clear()
            self.closed_early.clear()
            self.default = self._initial_default

    def wait_for_client_close(self, timeout: float = 1.0, count: int = 1) -> bool:
        """Block until `count` streams were closed by the client before they finished."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.closed_early) >= count, timeout)

    async def async_wait_for_client_close(self, timeout: float = 1.0, count: int = 1) -> bool:
        """`wait_for_client_close` for async tests (does not block their event loop)."""
        return await asyncio.to_thread(self.wait_for_client_close, timeout, count)

    # -- serving (server thread) ------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            method, path, headers, body = await _read_request(reader)
            if method == "GET" and path.rstrip("/").endswith("/models"):
                await _send_json(writer, 200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
            elif method != "POST" or not path.rstrip("/").endswith("/chat/completions"):
                await _send_json(writer, 404, _error_body(404, f"No route for {method} {path}"))
            else:
                await self._chat(reader, writer, json.loads(body or b"{}"))
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, ValueError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _chat(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: dict) -> None:
        with self._cond:
            index = len(self.requests)
            self.requests.append(payload)
            scenario = self._queue.popleft() if self._queue else self.default
        if scenario.silent:
            while await reader.read(1024):
                pass
            with self._cond:
                self.closed_early.append(index)
                self._cond.notify_all()
            return
        if scenario.status:
            await _send_json(
                writer,
                scenario.status,
                _error_body(scenario.status, scenario.error_message),
                {"retry-after-ms": str(scenario.retry_after_ms), "retry-after": "0"}
                if scenario.retry_after_ms is not None
                else {},
            )
            return
        if not payload.get("stream"):
            await _send_json(writer, 200, _completion(payload, scenario))
            return
        finished = await _stream(reader, writer, payload, scenario, f"chatcmpl-fake{next(self._ids)}")
        if not finished:
            with self._cond:
                self.closed_early.append(index)
                self._cond.notify_all()


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes]:
    request_line = (await reader.readline()).decode("latin-1").strip()
    if not request_line:
        raise ConnectionError("no request")
    method, path, _ = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    while (line := (await reader.readline()).decode("latin-1").strip()):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int((await reader.readline()).strip().split(b";")[0], 16):
            body += await reader.readexactly(size)
            await reader.readline()
        await reader.readline()
    else:
        body = b""
    return method, path, headers, body


async def _send_json(writer: asyncio.StreamWriter, status: int, body: dict, headers: dict | None = None) -> None:
    data = json.dumps(body).encode()
    head = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error' if status >= 400 else 'OK')}",
        "content-type: application/json",
        f"content-length: {len(data)}",
        "connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    await writer.drain()


def _error_body(status: int, message: str | None) -> dict:
    return {
        "error": {
            "message": message or f"Fake upstream error {status}.",
            "type": _ERROR_TYPES.get(status, "server_error"),
            "param": None,
            "code": None,
        }
    }


def _usage(payload: dict, scenario: Scenario) -> dict | None:
    if scenario.usage is None:
        return None
    if scenario.usage == "auto":
        prompt = sum(len(str(m.get("content", "")).split()) for m in payload.get("messages", []))
        completion = len(scenario.content)
    else:
        prompt, completion = scenario.usage
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(payload: dict, scenario: Scenario) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": scenario.text}
    if scenario.reasoning:
        message["reasoning_content"] = scenario.reasoning_text
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": payload.get("model", "fake"),
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": _usage(payload, scenario),
    }


async def _stream(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    payload: dict,
    scenario: Scenario,
    completion_id: str,
) -> bool:
    """Send the scenario as SSE over a chunked response. False when the client left early."""
    client_gone = asyncio.ensure_future(reader.read(1))  # b"" once the client closes
    try:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        )
        await writer.drain()
        created = int(time.time())
        model = payload.get("model", "fake")

        def event(choices: list, **extra: Any) -> bytes:
            body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}
            return f"data: {json.dumps({**body, 'choices': choices, **extra})}\n\n".encode()

        async def send(data: bytes) -> bool:
            if client_gone.done():
                return False
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            try:
                await writer.drain()
            except ConnectionError:
                return False
            return not client_gone.done()

        async def pause(seconds: float) -> bool:
            if seconds > 0:
                await asyncio.wait({client_gone}, timeout=seconds)
            else:
                await asyncio.sleep(0)
            return not client_gone.done()

        tokens = [("reasoning_content", t) for t in scenario.reasoning] + [("content", t) for t in scenario.content]
        # As OpenAI's API does: a reply cut at max_tokens ends with finish_reason "length".
        cap = payload.get("max_tokens") or payload.get("max_completion_tokens")
        finish = "stop"
        if isinstance(cap, int) and 0 < cap < len(tokens):
            tokens, finish = tokens[:cap], "length"
        for sent, (part, text) in enumerate(tokens):
            if sent == scenario.drop_after:
                writer.transport.abort()  # no terminating chunk: the client sees a cut body
                return True
            if sent == scenario.malformed_after:
                await send(b"data: {not json\n\n")
                await send(b"")
                return True
            if sent == scenario.hang_after:
                await client_gone
                return False
            if (sent or scenario.first_delay) and not await pause(scenario.delay if sent else scenario.first_delay):
                return False
            if scenario.stamp:
                text = f"{text}|{time.time():.6f}"
            delta = {"role": "assistant", part: text} if sent == 0 else {part: text}
            if not await send(event([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}])):
                return False
        if scenario.hang_after is not None and scenario.hang_after >= len(tokens):
            await client_gone
            return False
        finals = [event([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": finish}])]
        usage = _usage(payload, scenario)
        if usage and (payload.get("stream_options") or {}).get("include_usage"):
            finals.append(event([], usage=usage))
        finals += [b"data: [DONE]\n\n", b""]  # the empty chunk ends the chunked body
        for data in finals:
            if not await send(data):
                return False
        return True
    finally:
        client_gone.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible streaming server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between chunks")
    parser.add_argument("--words", type=int, default=300, help="length of the default answer")
    parser.add_argument("--content-file", help="answer with this file's text instead (no reasoning)")
    args = parser.parse_args()
    if args.content_file:
        with open(args.content_file, encoding="utf-8") as file:
            default = Scenario.words(file.read(), delay=args.delay)
    else:
        default = Scenario.words(
            markdown_answer(args.words),
            reasoning=split_words("The user wants a long answer to test streaming. I will write some Markdown."),
            delay=args.delay,
        )
    server = FakeUpstream(args.host, args.port, default=default).start()
    print(f"fake upstream listening: LLM_BASE_URL={server.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
