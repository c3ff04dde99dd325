"""The models' HTTP client (llm.network) against small real servers on loopback: plain and
TLS, bodies larger than its buffer, connections the server closed, servers that stall."""
import asyncio
import shutil
import ssl
import subprocess

import httpx2
import pytest

from llm import network


class Server:
    """An HTTP/1.1 server that answers every request with `body`, then keeps the connection
    (or closes it: `close_after`); `stall` sends nothing at all."""

    def __init__(self, body: bytes = b"hello", *, close_after: bool = False, stall: bool = False,
                 tls: ssl.SSLContext | None = None):
        self.body, self.close_after, self.stall, self.tls = body, close_after, stall, tls
        self.connections = 0
        self.closed = asyncio.Event()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0, ssl=self.tls)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"{'https://localhost' if self.tls else 'http://127.0.0.1'}:{port}/"
        return self

    async def __aexit__(self, *exc):
        self.server.close()

    async def serve(self, reader, writer):
        self.connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                if self.stall:
                    await asyncio.sleep(30)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(self.body) + self.body)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()
        self.closed.set()


def client(**kwargs) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=network.Transport(), **kwargs)


async def test_requests_go_through_asyncio_sockets_and_reuse_connections(monkeypatch):
    opened = []
    connect_tcp = network.AsyncioBackend.connect_tcp

    async def counted(self, *args, **kwargs):
        opened.append(await connect_tcp(self, *args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(network.AsyncioBackend, "connect_tcp", counted)
    async with Server() as server, client() as http:
        for _ in range(3):
            response = await http.get(server.url)
            assert (response.status_code, response.content) == (200, b"hello")
    assert server.connections == 1
    assert len(opened) == 1 and isinstance(opened[0], network.AsyncioStream)


async def test_a_body_larger_than_the_buffer_arrives_whole(monkeypatch):
    monkeypatch.setattr(network, "READ_BUFFER", 4096)  # reading pauses and resumes many times
    body = bytes(range(256)) * 4096  # 1 MiB
    async with Server(body) as server, client() as http:
        async with http.stream("GET", server.url) as response:
            chunks = []
            async for chunk in response.aiter_raw():
                chunks.append(chunk)
                await asyncio.sleep(0)  # a slow reader
    assert b"".join(chunks) == body and len(chunks) > 1


async def test_a_connection_the_server_closed_is_not_reused():
    async with Server(close_after=True) as server, client() as http:
        assert (await http.get(server.url)).content == b"hello"
        await asyncio.wait_for(server.closed.wait(), 5)
        await asyncio.sleep(0.05)  # its end reached the client
        assert (await http.get(server.url)).content == b"hello"
    assert server.connections == 2


async def test_a_stalled_server_times_out_and_a_closed_port_does_not_connect():
    async with Server(stall=True) as server, client(timeout=httpx2.Timeout(5, read=0.2)) as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.get(server.url)
    with pytest.raises(httpx2.ConnectError):
        async with client() as http:
            await http.get(server.url)  # the server is gone


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command for a certificate")
async def test_tls_with_a_certificate_the_context_trusts(tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what the client's context trusts
    async with Server(b"secret", tls=served) as server, client() as http:
        for _ in range(2):
            response = await http.get(server.url)
            assert response.content == b"secret"
    assert server.connections == 1
    monkeypatch.delenv("SSL_CERT_FILE")
    async with Server(b"secret", tls=served) as server, client() as http:
        with pytest.raises(httpx2.ConnectError):  # not trusted
            await http.get(server.url)
