"""Daphne's WebSocket layer (autobahn over Twisted), adjusted where its defaults hurt us.

- A connection that breaks autobahn's limits, such as a frame over 1 MiB, was failed by
  dropping TCP (autobahn's `failByDrop`): the browser saw 1006 and could not tell why. With
  `failByDrop` off autobahn sends the RFC 6455 close code first (1009 "message too big",
  chat.protocol.CLOSE_MESSAGE_TOO_BIG).
- A client that stops reading (a frozen tab, a stalled network) made Twisted buffer every
  frame sent to it, without bound. Past `max_buffer` bytes waiting to be written, the
  connection is dropped: a close frame would only queue behind the backlog, while dropping
  frees it at once. The browser sees 1006, reconnects and gets a snapshot (nothing of the
  answer is lost: it lives in the database and the live state, not in the socket).

Daphne builds its factory in Server.run(), after it has imported the application, so
replacing the class at import time (config.asgi calls install()) is enough.
"""
import logging

import daphne.server
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

log = logging.getLogger(__name__)


def buffered(transport) -> int:
    """Bytes a Twisted transport holds that the peer has not taken yet."""
    data = getattr(transport, "dataBuffer", b"")
    return len(data) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


class BoundedWebSocketProtocol(WebSocketProtocol):
    max_buffer = float("inf")  # set by install(), from CHAT_SOCKET_BUFFER_BYTES

    def serverSend(self, content, binary=False):
        if self.state == self.STATE_OPEN and buffered(self.transport) > self.max_buffer:
            if not self.dropped_for_backlog:
                self.dropped_for_backlog = True
                log.warning("dropping a WebSocket whose client stopped reading (%s bytes waiting) for %s",
                            buffered(self.transport), self.client_addr)
                self.dropConnection(abort=True)
            return
        super().serverSend(content, binary)

    dropped_for_backlog = False


class ClosingWebSocketFactory(WebSocketFactory):
    protocol = BoundedWebSocketProtocol

    def setProtocolOptions(self, **options):
        options.setdefault("failByDrop", False)
        super().setProtocolOptions(**options)


def install(max_buffer: int) -> None:
    BoundedWebSocketProtocol.max_buffer = max_buffer
    daphne.server.WebSocketFactory = ClosingWebSocketFactory
