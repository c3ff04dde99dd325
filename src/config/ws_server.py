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
- A message goes out as one frame written straight to the transport when nothing asks for
  more (no compression, fragmentation, masking or frame logging, nothing queued): autobahn's
  sendMessage() path (its checks, its traffic counters, a debug log call whose arguments it
  formats every time) was half of the CPU of sending a frame, 4 % of a process's at L2. The
  bytes are those autobahn writes (a test compares them); anything else goes its way.
- While the process drains (SIGTERM, serving.drain), a new socket's handshake is refused
  with HTTP 503, which nginx passes on to the next process (proxy_next_upstream http_503);
  one the application accepts anyway (its handshake began before the drain) is closed at
  once with 1012, as the open ones are (close_sockets). What the app sends to a closing
  socket is dropped instead of raising.

Daphne builds its factory in Server.run(), after it has imported the application, so
replacing the class at import time (config.asgi calls install()) is enough; building it
is also when the drain learns of Daphne's server (its connections, its reactor).
"""
import logging
import struct

import daphne.server
from autobahn.websocket.types import ConnectionDeny
from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

from chat.protocol import CLOSE_SERVICE_RESTART
from serving import drain

log = logging.getLogger(__name__)
RESTART_REASON = "server restarting"


def buffered(transport) -> int:
    """Bytes a Twisted transport holds that the peer has not taken yet."""
    data = getattr(transport, "dataBuffer", b"")
    return len(data) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


class BoundedWebSocketProtocol(WebSocketProtocol):
    max_buffer = float("inf")  # set by install(), from CHAT_SOCKET_BUFFER_BYTES

    def serverSend(self, content, binary=False):
        if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            # Closing (1012 on a restart, say) while the app still had something to say:
            # autobahn would raise and the app die with a traceback; the client reconnects
            # and gets the state from its snapshot.
            return
        if self.state == self.STATE_OPEN and buffered(self.transport) > self.max_buffer:
            if not self.dropped_for_backlog:
                self.dropped_for_backlog = True
                log.warning("dropping a WebSocket whose client stopped reading (%s bytes waiting) for %s",
                            buffered(self.transport), self.client_addr)
                self.dropConnection(abort=True)
            return
        if self.state == self.STATE_OPEN and self._plain_frames():
            self._write_frame(content if binary else content.encode("utf8"), binary)
            return
        super().serverSend(content, binary)

    def _plain_frames(self) -> bool:
        """Whether a message is one unmasked, uncompressed frame, written at once."""
        return (self._perMessageCompress is None and not self.autoFragmentSize and not self.maskServerFrames
                and not self.send_queue and not self.logFrames and not self.logOctets
                and not self.trackedTimings)

    def _write_frame(self, payload: bytes, binary: bool) -> None:
        """RFC 6455 §5.2: FIN and the opcode, then the length in 7, 7+16 or 7+64 bits."""
        size = len(payload)
        if 0 < self.maxMessagePayloadSize < size:
            return super().sendMessage(payload, binary)  # autobahn refuses it (and says why)
        first = 0x82 if binary else 0x81
        if size <= 125:
            header = bytes((first, size))
        elif size <= 0xFFFF:
            header = struct.pack("!BBH", first, 126, size)
        else:
            header = struct.pack("!BBQ", first, 127, size)
        self.transport.write(header + payload)

    dropped_for_backlog = False
    refused_while_draining = False

    def onConnect(self, request):
        if drain.draining():
            self.refused_while_draining = True
            raise ConnectionDeny(503, RESTART_REASON)
        return super().onConnect(request)

    def onClose(self, wasClean, code, reason):
        if self.refused_while_draining:
            return  # Daphne never heard of this connection (its onConnect did not run)
        super().onClose(wasClean, code, reason)

    def serverAccept(self, subprotocol=None):
        super().serverAccept(subprotocol)
        if drain.draining():
            self.close_for_restart()

    def close_for_restart(self) -> None:
        """Close with 1012 "service restart". autobahn's sendClose() takes only 1000 and
        3000-4999 from applications; its own close frame sender takes any code."""
        if self.state == self.STATE_OPEN:
            self.sendCloseFrame(code=CLOSE_SERVICE_RESTART, reasonUtf8=RESTART_REASON.encode(), isReply=False)


def open_sockets(server) -> list[BoundedWebSocketProtocol]:
    """The WebSockets of a Daphne server that are open (handshake done, not closing)."""
    return [protocol for protocol in list(server.connections)
            if isinstance(protocol, BoundedWebSocketProtocol) and protocol.state == protocol.STATE_OPEN]


def close_sockets(server) -> int:
    """Tell every open socket to reconnect elsewhere (1012, service restart); returns the count."""
    sockets = open_sockets(server)
    for protocol in sockets:
        protocol.close_for_restart()
    return len(sockets)


class ClosingWebSocketFactory(WebSocketFactory):
    protocol = BoundedWebSocketProtocol

    def __init__(self, server_class, *args, **kwargs):
        super().__init__(server_class, *args, **kwargs)
        drain.attach(server_class)  # Daphne passes its Server instance as `server_class`

    def setProtocolOptions(self, **options):
        options.setdefault("failByDrop", False)
        super().setProtocolOptions(**options)


def install(max_buffer: int) -> None:
    BoundedWebSocketProtocol.max_buffer = max_buffer
    daphne.server.WebSocketFactory = ClosingWebSocketFactory
