"""A bare ASGI echo app under Daphne, with the WebSocket factory set up as config.asgi sets it
up: the frame-size limits are Daphne's, so the test needs Daphne, not the chat app."""
import asyncio
import os

from config import ws_server

ws_server.install(max_buffer=int(os.environ["CHAT_SOCKET_BUFFER_BYTES"]))


async def app(scope, receive, send):
    assert scope["type"] == "websocket"
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            text = event.get("text") or ""
            if text.startswith("flood "):  # `flood <frames> <bytes each> <ms between>`: a stream
                count, size, pause = map(int, text.split()[1:])
                for n in range(count):
                    await send({"type": "websocket.send", "text": f"{n:08d}" + "x" * (size - 8)})
                    await asyncio.sleep(pause / 1000)
                continue
            await send({"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")})
        else:
            return
