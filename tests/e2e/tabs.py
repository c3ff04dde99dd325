"""A browser tab's socket, driven with the `websockets` client against a real server."""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from websockets.asyncio.client import ClientConnection, connect

from .servers import Server

STREAM_TYPES = {"message.created", "message.delta", "message.done", "conversation.updated"}


class Tab:
    def __init__(self, server: Server, socket: ClientConnection):
        self.server = server
        self.socket = socket

    async def send(self, frame: dict) -> None:
        await self.socket.send(json.dumps(frame))

    async def receive(self, timeout: float = 5) -> dict:
        return json.loads(await asyncio.wait_for(self.socket.recv(), timeout))

    async def until(self, done: Callable[[dict], bool], timeout: float = 10) -> list[dict]:
        """Frames up to and including the first one `done` accepts."""
        frames: list[dict] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching frame within {timeout} s; got {summary(frames)}")
            frame = await self.receive(left)
            frames.append(frame)
            if done(frame):
                return frames

    async def until_done(self, timeout: float = 10) -> list[dict]:
        return await self.until(is_answer_done, timeout)

    async def sync(self, timeout: float = 5) -> dict:
        """Ask for a fresh snapshot; frames of the stream that arrive meanwhile are skipped."""
        await self.send({"type": "conversation.sync"})
        frames = await self.until(lambda f: f["type"] == "conversation.snapshot", timeout)
        return frames[-1]

    async def close(self) -> None:
        await self.socket.close()


async def open_tab(server: Server, conversation_id, session: str) -> tuple[Tab, dict]:
    """Connect as a logged-in browser would; return the tab and its first frame (the snapshot)."""
    socket = await connect(
        f"{server.ws_url}/ws/chat/{conversation_id}/",
        origin=server.url,
        additional_headers={"Cookie": f"sessionid={session}"},
        open_timeout=10,
        max_size=None,
    )
    tab = Tab(server, socket)
    snapshot = await tab.receive(10)
    assert snapshot["type"] == "conversation.snapshot", snapshot
    return tab, snapshot


def is_answer_done(frame: dict) -> bool:
    return frame["type"] == "message.done" and frame["message"]["role"] == "assistant"


def stream_frames(frames: list[dict]) -> list[dict]:
    return [f for f in frames if f["type"] in STREAM_TYPES]


def deltas(frames: list[dict], message_id: str | None = None) -> list[dict]:
    return [f for f in frames if f["type"] == "message.delta" and message_id in (None, f["message_id"])]


def answer_of(snapshot: dict) -> dict | None:
    """The last assistant message of a snapshot."""
    answers = [m for m in snapshot["messages"] if m["role"] == "assistant"]
    return answers[-1] if answers else None


def summary(frames: list[dict]) -> str:
    return ", ".join(
        f["type"] + (f":{f['seq']}" if f["type"] == "message.delta" else "")
        + (f":{f['code']}" if f["type"] == "error" else "")
        for f in frames[-30:]
    )
