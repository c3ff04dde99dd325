"""The HTTP client under the LangChain models: httpx on asyncio's own sockets.

The OpenAI SDK's httpx reads through anyio, which for every read of a response registers
the socket with the loop's selector, waits, and unregisters it (two system calls), inside a
cancel scope for the read's timeout. An answer is hundreds of small reads, so at 60 answers
that was a tenth of a process's CPU. Here a connection is an asyncio protocol: the socket
stays registered, bytes wait in a buffer (reading pauses past READ_BUFFER), and a read only
waits, with a timer for its timeout, when nothing is buffered.

Only the network part changes: httpx's connection pool, HTTP/1.1, TLS (asyncio's), retries
and errors are the SDK's, and requests through a proxy keep httpx's own transport.
"""
from __future__ import annotations

import asyncio
import ssl
from collections import deque

import httpcore2
import httpx2
from httpcore2 import AsyncNetworkBackend, AsyncNetworkStream

READ_BUFFER = 1 << 20  # bytes received and not read yet, past which reading pauses
# As the OpenAI SDK's own client (many answers share one process's connections).
LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)


def async_client() -> httpx2.AsyncClient:
    """A client for one event loop's chat model (its connections belong to that loop).
    Timeouts come with each request, from the SDK."""
    return httpx2.AsyncClient(transport=Transport(), follow_redirects=True)


class Transport(httpx2.AsyncHTTPTransport):
    """httpx's transport with its connection pool on AsyncioBackend."""

    def __init__(self) -> None:
        context = httpx2.create_ssl_context()  # (certifi's, or SSL_CERT_FILE's)
        super().__init__(verify=context, limits=LIMITS)
        # httpx builds its pool without a way to name the network backend: the same pool
        # again, with ours (its other settings are httpx's defaults, as above).
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=context, max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry, network_backend=AsyncioBackend(),
        )


class AsyncioBackend(AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options=None) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Connection, host, port, local_addr=(local_address, 0) if local_address else None)
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        for option in socket_options or ():
            transport.get_extra_info("socket").setsockopt(*option)
        return AsyncioStream(protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _Connection(asyncio.Protocol):
    """What a connection received and not read yet, and who waits for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None  # after start_tls, the TLS one
        self.received: deque[bytes] = deque()
        self.size = 0
        self.ended = False  # the server closed its side, or the connection was lost
        self.lost: Exception | None = None
        self.paused = False
        self.reader: asyncio.Future | None = None
        self.writer: asyncio.Future | None = None  # a write waiting for the buffer to drain
        self.writing_paused = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received.append(data)
        self.size += len(data)
        if self.size > READ_BUFFER and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        _wake(self.reader)

    def eof_received(self) -> bool:
        self.ended = True
        _wake(self.reader)
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended, self.lost = True, exc
        _wake(self.reader)
        _wake(self.writer)

    async def wait(self, slot: str, timeout: float | None, timed_out: type[Exception], message: str) -> None:
        """Wait until woken in `slot` ("reader": bytes came, or the end; "writer": the
        buffer drained), or raise `timed_out` after `timeout` seconds."""
        waiter = asyncio.get_running_loop().create_future()
        setattr(self, slot, waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise timed_out(message) from None
        finally:
            setattr(self, slot, None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        _wake(self.writer)


def _wake(waiter: asyncio.Future | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class AsyncioStream(AsyncNetworkStream):
    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    @property
    def _transport(self) -> asyncio.Transport:
        return self._connection.transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        if not connection.received and not connection.ended:
            await connection.wait("reader", timeout, httpcore2.ReadTimeout, "the server sent nothing in time")
        if not connection.received:
            if connection.lost is not None:
                raise httpcore2.ReadError(str(connection.lost))
            return b""  # the server closed the connection
        data = connection.received.popleft()
        if len(data) > max_bytes:
            data, rest = data[:max_bytes], data[max_bytes:]
            connection.received.appendleft(rest)
        connection.size -= len(data)
        if connection.paused and connection.size <= READ_BUFFER // 2:
            connection.paused = False
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore2.WriteError("the connection is closed")
        self._transport.write(buffer)
        connection = self._connection
        if connection.writing_paused and not connection.ended:
            await connection.wait("writer", timeout, httpcore2.WriteTimeout, "the server took nothing in time")

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(self._transport, self._connection, ssl_context,
                                             server_hostname=server_hostname, ssl_handshake_timeout=timeout)
        except TimeoutError:
            self._transport.close()
            raise httpcore2.ConnectTimeout("the TLS handshake timed out") from None
        except (ssl.SSLError, OSError) as exc:
            self._transport.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        self._connection.transport = transport
        return AsyncioStream(self._connection)

    def get_extra_info(self, info: str):
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        if info == "is_readable":
            # An idle connection with something to read is one the server closed (or is
            # closing): the pool does not reuse it.
            return bool(self._connection.received) or self._connection.ended
        return None
