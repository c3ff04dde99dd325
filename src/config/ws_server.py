"""Daphne's WebSocket layer (autobahn) fails a connection that breaks its limits, such as a
frame over 1 MiB, by dropping TCP (autobahn's `failByDrop`): the browser sees 1006 and cannot
tell why. With `failByDrop` off autobahn sends the RFC 6455 close code first (1009 "message
too big", chat.protocol.CLOSE_MESSAGE_TOO_BIG). Daphne builds its factory in Server.run(),
after it has imported the application, so replacing the class at import time is enough."""
import daphne.server
from daphne.ws_protocol import WebSocketFactory


class ClosingWebSocketFactory(WebSocketFactory):
    def setProtocolOptions(self, **options):
        options.setdefault("failByDrop", False)
        super().setProtocolOptions(**options)


def install() -> None:
    daphne.server.WebSocketFactory = ClosingWebSocketFactory
