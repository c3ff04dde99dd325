"""Daphne's WebSocket layer as config.asgi sets it up (config/ws_server.py), against a bare
echo app under a real Daphne process: frames over the size limit, clients that stop reading."""
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets

from chat import protocol

ROOT = Path(__file__).resolve().parents[3]
BUFFER = 1024 * 1024  # CHAT_SOCKET_BUFFER_BYTES of the echo server


def test_config_asgi_installs_the_closing_websocket_factory():
    import daphne.server

    import config.asgi  # noqa: F401
    from config.ws_server import ClosingWebSocketFactory

    assert daphne.server.WebSocketFactory is ClosingWebSocketFactory


@pytest.fixture
def daphne_echo(tmp_path):
    """Daphne (its default 1 MiB limits) serving an echo app set up as config.asgi sets it up."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "daphne.log").open("wb")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "CHAT_SOCKET_BUFFER_BYTES": str(BUFFER)}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(port), "tests.ws_echo_app:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, (tmp_path / "daphne.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"ws://127.0.0.1:{port}/"
    process.terminate()  # drains (serving.drain): no answers here, so at once
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()  # never left running
        process.wait(5)
        raise
    finally:
        log.close()


async def test_frame_over_1_mib_is_closed_1009_message_too_big(daphne_echo):
    async with websockets.connect(daphne_echo, max_size=None) as client:
        fits = "x" * (1024 * 1024 - 1)
        await client.send(fits)
        assert await asyncio.wait_for(client.recv(), 10) == fits
        await client.send("x" * (1024 * 1024 + 1))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(client.recv(), 10)
    assert closed.value.rcvd is not None, "the server dropped the connection without a close frame"
    assert closed.value.rcvd.code == protocol.CLOSE_MESSAGE_TOO_BIG == 1009


async def read_all(client, timeout: float) -> tuple[int, websockets.ConnectionClosed | None]:
    """Frames read until the connection ends or `timeout` s pass without one."""
    count = 0
    try:
        while True:
            await asyncio.wait_for(client.recv(), timeout)
            count += 1
    except websockets.ConnectionClosed as closed:
        return count, closed
    except TimeoutError:
        return count, None


async def test_a_client_that_stops_reading_is_dropped_past_the_buffer_bound(daphne_echo):
    frames, size = 400, 64 * 1024  # 25 MiB in 2 s, far more than the socket buffers take
    async with websockets.connect(daphne_echo, max_size=None, max_queue=1) as client:
        await client.send(f"flood {frames} {size} 5")
        await asyncio.sleep(3)  # not reading: the server's backlog for us grows past BUFFER
        count, closed = await read_all(client, timeout=5)
    assert closed is not None and closed.rcvd is None, "the server should drop the connection"
    assert count < frames


async def test_a_client_that_reads_gets_every_frame(daphne_echo):
    frames, size = 400, 64 * 1024  # the same stream: a reader that keeps up is never dropped
    async with websockets.connect(daphne_echo, max_size=None) as client:
        await client.send(f"flood {frames} {size} 5")
        count, closed = await read_all(client, timeout=5)
    assert (count, closed) == (frames, None)


def test_what_the_app_sends_to_a_closing_socket_is_dropped_not_raised():
    """After a 1012 (a restart), a consumer that still sends would raise autobahn's
    Disconnected and die with a traceback in the log."""
    from config.ws_server import BoundedWebSocketProtocol

    socket = BoundedWebSocketProtocol()
    for state in (socket.STATE_CLOSING, socket.STATE_CLOSED):
        socket.state = state
        socket.serverSend("a frame nobody will read")  # no exception


class Transport:
    """What a protocol writes, frame by frame."""

    dataBuffer, offset, _tempDataLen = b"", 0, 0

    def __init__(self):
        self.written = []

    def write(self, data):
        self.written.append(bytes(data))

    def getPeer(self):
        return None

    def getHost(self):
        return None


def open_protocol():
    from autobahn.twisted.websocket import WebSocketServerFactory

    from config.ws_server import BoundedWebSocketProtocol

    socket = BoundedWebSocketProtocol()
    socket.factory, socket.transport = WebSocketServerFactory(), Transport()
    socket._connectionMade()  # autobahn's options, from the factory's defaults (Daphne's too)
    socket.state, socket._perMessageCompress = socket.STATE_OPEN, None
    return socket


SIZES = (1, 125, 126, 127, 65535, 65536, 70000)  # each of the three length encodings, at their edges


def text_of(size: int) -> str:
    """A text of exactly `size` bytes in UTF-8, two-byte characters included."""
    return "é" * (size // 4) + "x" * (size - 2 * (size // 4))


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_a_frame_written_directly_is_the_frame_autobahn_writes(binary):
    from autobahn.websocket.protocol import WebSocketProtocol

    for size in SIZES:
        text = text_of(size)
        content = text.encode() if binary else text
        direct, through_autobahn = open_protocol(), open_protocol()
        direct.serverSend(content, binary)
        WebSocketProtocol.sendMessage(through_autobahn, text.encode(), binary)
        assert direct.transport.written == through_autobahn.transport.written, size
        assert len(direct.transport.written) == 1


def test_what_asks_for_more_than_a_plain_frame_goes_autobahns_way():
    socket = open_protocol()
    assert socket._plain_frames()
    socket.send_queue.append((b"queued earlier", False))  # what is queued goes first
    assert not socket._plain_frames()
    socket = open_protocol()
    socket._perMessageCompress = object()  # permessage-deflate negotiated
    assert not socket._plain_frames()


async def test_frames_of_every_length_encoding_reach_a_client_whole(daphne_echo):
    async with websockets.connect(daphne_echo, max_size=None) as client:
        for size in SIZES:
            text = text_of(size)
            await client.send(text)
            assert await asyncio.wait_for(client.recv(), 10) == text
            await client.send(text.encode())
            assert await asyncio.wait_for(client.recv(), 10) == text.encode()
