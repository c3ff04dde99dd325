"""A bare ASGI echo app under Daphne, with the WebSocket factory set up as config.asgi sets it
up: the frame-size limits are Daphne's, so the test needs Daphne, not the chat app."""
from config import ws_server

ws_server.install()


async def app(scope, receive, send):
    assert scope["type"] == "websocket"
    while True:
        event = await receive()
        if event["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif event["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": event.get("text"), "bytes": event.get("bytes")})
        else:
            return
