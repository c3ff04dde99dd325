"""Test helpers: a logged-in WebSocket client on the real ASGI application."""
import asyncio
import json

from channels.testing import WebsocketCommunicator

from config.asgi import application


async def connect(path: str, cookie: str | None = None, origin: str = "http://localhost",
                  host: str = "localhost"):
    # A browser on http://localhost: the Origin is the page's, the Host the socket's server.
    headers = [(b"origin", origin.encode()), (b"host", host.encode())]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect(timeout=5)
    assert connected
    return socket


async def open_chat(cookie: str, conversation_id) -> tuple[WebsocketCommunicator, dict]:
    """Connect to a conversation and return the socket and its first frame (the snapshot)."""
    socket = await connect(f"/ws/chat/{conversation_id}/", cookie)
    snapshot = await socket.receive_json_from(timeout=5)
    assert snapshot["type"] == "conversation.snapshot"
    return socket, snapshot


async def frames_until(socket, predicate, timeout: float = 10) -> list[dict]:
    """Receive frames until one satisfies predicate (included)."""
    frames = []
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.receive_from(timeout=timeout))
            frames.append(frame)
            if predicate(frame):
                return frames


def is_done(frame) -> bool:
    return frame["type"] == "message.done"


async def until_done(socket, timeout: float = 10) -> list[dict]:
    return await frames_until(socket, is_done, timeout)


def replay(message: dict, frames: list[dict]) -> dict:
    """What a client shows: a message state, then only newer deltas by seq."""
    state = {"content": message["content"], "reasoning": message["reasoning"], "seq": message["seq"]}
    for frame in frames:
        if frame["type"] == "message.delta" and frame["message_id"] == message["id"]:
            if frame["seq"] <= state["seq"]:
                continue
            assert frame["seq"] == state["seq"] + 1, f"gap before seq {frame['seq']}"
            state[frame["part"]] += frame["delta"]
            state["seq"] = frame["seq"]
    return state


def deltas_text(frames: list[dict], part: str = "content") -> str:
    return "".join(f["delta"] for f in frames if f["type"] == "message.delta" and f["part"] == part)


def send_frame(content="Hello there", client_id=None):
    frame = {"type": "message.send", "content": content}
    if client_id:
        frame["client_id"] = client_id
    return frame
