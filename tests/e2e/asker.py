"""A client that asks through a load balancer and keeps going across restarts, as the web
client does: on a close it reconnects at once, takes the snapshot, applies only newer deltas
(seq), and sends again what the server did not confirm (`client_id` makes that idempotent).

It counts what a user would lose: a delta missing while connected (a gap in seq), text a
snapshot contradicts, and an answer that ends other than `complete`.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.fake_upstream import STAMP

UNAVAILABLE = "unavailable"


@dataclass
class Seen:
    """One answer as the asker saw it."""

    answer: dict | None = None  # the final stored message (message.done or a snapshot)
    text: str = ""  # content assembled from snapshots and deltas
    gaps: int = 0  # deltas that did not arrive while connected (seq jumps)
    lost: int = 0  # how many deltas those gaps held
    contradicted: int = 0  # snapshots whose text did not start with what was assembled
    closes: list = field(default_factory=list)  # close codes of the sockets lost meanwhile
    refused: int = 0  # sends refused `unavailable` (the process was draining), sent again
    delays: list[float] = field(default_factory=list)  # token -> frame (stamped upstream tokens)

    @property
    def whole(self) -> bool:
        """Complete, nothing missing or contradicted, the text exactly the stored one."""
        return (self.answer is not None and self.answer["status"] == "complete" and not self.gaps
                and not self.contradicted and self.text == self.answer["content"])


class Asker:
    """One conversation, asked over and over through `front` (nginx, or a Daphne process);
    the first socket goes to `first` instead when given (a process nginx does not know)."""

    def __init__(self, front, session: str, conversation_id=None, first=None):
        self.front = front
        self.first = first
        self.session = session
        self.conversation_id = conversation_id or uuid.uuid4()
        self.socket = None
        self.reconnects = 0
        self.failed_connects = 0  # handshakes nothing took (behind nginx: every process refused)
        self.trail: list[str] = []  # what happened, for the message of a failed test

    async def _connect(self, deadline: float) -> dict:
        """Open a socket (retrying while nothing takes it) and return its snapshot."""
        front, self.first = self.first or self.front, None
        while True:
            try:
                self.socket = await connect(
                    f"{front.ws_url}/ws/chat/{self.conversation_id}/", origin=front.url,
                    additional_headers={"Cookie": f"sessionid={self.session}"}, open_timeout=10, max_size=None)
                snapshot = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
                assert snapshot["type"] == "conversation.snapshot", snapshot
                self.trail.append("connected")
                return snapshot
            except (OSError, InvalidHandshake, InvalidStatus, ConnectionClosed, TimeoutError):
                self.failed_connects += 1
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)  # every process refused: one is restarting

    async def _send(self, content: str, client_id: str) -> bool:
        self.trail.append("send")
        try:
            await self.socket.send(json.dumps({"type": "message.send", "content": content, "client_id": client_id}))
        except ConnectionClosed:
            pass  # closed under us: recv() says how, and the next socket sends it again
        return True

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None

    async def ask(self, content: str, timeout: float = 60, stamped: bool = False) -> Seen:
        """Send `content`, follow its answer to its end across reconnects."""
        deadline = time.monotonic() + timeout
        seen = Seen()
        client_id = str(uuid.uuid4())
        question_id = answer_id = None
        seq = 0
        sent = synced = False
        snapshot = None
        self.trail = [f"ask:{content}"]
        while True:
            if self.socket is None:
                snapshot = await self._connect(deadline)
                sent = False
            if snapshot is not None:  # take the server's state of this send
                frame, snapshot = snapshot, None
                question = next((m for m in frame["messages"] if m["client_id"] == client_id), None)
                if question is not None:
                    question_id = question["id"]
                    answers = [m for m in frame["messages"] if m.get("parent_id") == question_id]
                    if answers:
                        answer = answers[-1]
                        answer_id = answer["id"]
                        if not answer["content"].startswith(seen.text):
                            seen.contradicted += 1
                        seen.text, seq = answer["content"], answer["seq"]
                        if answer["status"] != "streaming":
                            seen.answer = answer
                            return seen
                elif not sent:  # not stored yet: (again) on this socket
                    sent = await self._send(content, client_id)
            elif not sent:  # a socket open since the last answer
                sent = await self._send(content, client_id)
            try:
                raw = await asyncio.wait_for(self.socket.recv(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                raise TimeoutError(f"no answer within {timeout} s in {self.conversation_id}: {' '.join(self.trail)}") from None
            except ConnectionClosed as closed:
                seen.closes.append(closed.rcvd.code if closed.rcvd else None)
                self.trail.append(f"closed:{seen.closes[-1]}")
                self.socket = None
                self.reconnects += 1
                continue
            now = time.time()
            frame = json.loads(raw)
            kind = frame["type"]
            self.trail.append(kind.split(".")[-1] + (f":{frame['seq']}" if kind == "message.delta" else "")
                              + (f":{frame['code']}" if kind == "error" else "")
                              + (f":{frame['message']['id'][:8]}" if isinstance(frame.get("message"), dict) else ""))
            if kind == "error":
                if frame.get("code") == UNAVAILABLE:  # draining: the close (1012) follows
                    seen.refused += 1
                    continue
                raise AssertionError(f"refused: {frame}")
            if kind == "message.created" and frame["message"]["client_id"] == client_id:
                question_id = frame["message"]["id"]
            elif kind == "message.created" and frame["message"].get("parent_id") == question_id:
                answer_id = frame["message"]["id"]
            elif kind == "message.delta" and answer_id is None and question_id is not None and not synced:
                # Our send was stored by a process we left before its message.created
                # reached us: the snapshot names its answer.
                await self.socket.send(json.dumps({"type": "conversation.sync"}))
                synced = True
            elif kind == "message.delta" and frame["message_id"] == answer_id:
                if frame["seq"] <= seq:
                    continue  # already in the snapshot
                if frame["seq"] > seq + 1:
                    seen.gaps += 1
                    seen.lost += frame["seq"] - seq - 1
                seq = frame["seq"]
                if frame["part"] == "content":
                    seen.text += frame["delta"]
                if stamped:
                    seen.delays += [now - float(stamp) for stamp in STAMP.findall(frame["delta"])]
            elif kind == "message.done" and frame["message"]["id"] == answer_id:
                seen.answer = frame["message"]
                return seen
            elif kind == "conversation.snapshot":
                snapshot = frame
