"""The WebSocket Origin check lets in exactly the site's own origins and the trusted ones."""
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from config.origin import origin_allowed

pytestmark = pytest.mark.django_db(transaction=True)


def scope(host: str, scheme: str = "ws", **headers: str) -> dict:
    pairs = [(b"host", host.encode())] + [
        (name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()
    ]
    return {"type": "websocket", "scheme": scheme, "headers": pairs}


async def handshake(origin: str, host: str, cookie: str | None = None, scheme: str = "ws"):
    headers = [(b"origin", origin.encode()), (b"host", host.encode())]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    socket = WebsocketCommunicator(application, f"/ws/chat/{uuid.uuid4()}/", headers=headers)
    socket.scope["scheme"] = scheme
    connected, _ = await socket.connect(timeout=5)
    if connected:
        await socket.disconnect()
    return connected


@pytest.mark.parametrize("origin, host, scheme", [
    ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws"),
    ("http://localhost", "localhost", "ws"),
    ("http://localhost:80", "localhost", "ws"),  # the default port, spelled out
    ("HTTP://LocalHost:8000", "localhost:8000", "ws"),  # case does not matter
    ("https://localhost", "localhost:443", "wss"),
    ("http://[::1]:8000", "[::1]:8000", "ws"),
])
def test_own_origin_is_allowed(settings, origin, host, scheme):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
    assert origin_allowed(origin, scope(host, scheme))


@pytest.mark.parametrize("origin, host, scheme", [
    ("http://127.0.0.1:1", "127.0.0.1:8000", "ws"),  # another port of an allowed host
    ("https://127.0.0.1", "127.0.0.1:8000", "ws"),  # the other scheme
    ("https://127.0.0.1:8000", "127.0.0.1:8000", "ws"),
    ("http://127.0.0.1:8000", "127.0.0.1:8000", "wss"),  # a plain page on a TLS site
    ("http://localhost:8000", "127.0.0.1:8000", "ws"),  # another allowed host
    ("http://evil.example:8000", "evil.example:8000", "ws"),  # DNS rebinding: Host not allowed
    ("http://evil.example", "localhost", "ws"),
    ("null", "localhost", "ws"),
    ("http://localhost/path", "localhost", "ws"),
    ("http://user@localhost", "localhost", "ws"),
    ("ftp://localhost", "localhost", "ws"),
    ("http://localhost:99999", "localhost", "ws"),
    ("", "localhost", "ws"),
])
def test_other_origins_are_refused(settings, origin, host, scheme):
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
    assert not origin_allowed(origin, scope(host, scheme))


def test_no_host_header_means_only_trusted_origins(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com"]
    assert not origin_allowed("http://localhost", {"type": "websocket", "headers": []})
    assert origin_allowed("https://chat.example.com", {"type": "websocket", "headers": []})


def test_trusted_origins_exact_and_wildcard(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://*.corp.example:8443"]
    behind_proxy = scope("localhost:8000")  # a TLS proxy that does not forward the scheme
    assert origin_allowed("https://chat.example.com", behind_proxy)
    assert origin_allowed("https://chat.example.com:443", behind_proxy)
    assert not origin_allowed("http://chat.example.com", behind_proxy)
    assert not origin_allowed("https://chat.example.com:8443", behind_proxy)
    assert origin_allowed("https://a.corp.example:8443", behind_proxy)
    assert origin_allowed("https://corp.example:8443", behind_proxy)
    assert not origin_allowed("https://a.corp.example", behind_proxy)
    assert not origin_allowed("https://evilcorp.example:8443", behind_proxy)


def test_secure_proxy_ssl_header_makes_the_own_origin_https(settings):
    settings.ALLOWED_HOSTS = ["chat.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    forwarded = scope("chat.example.com", x_forwarded_proto="https")
    assert origin_allowed("https://chat.example.com", forwarded)
    assert not origin_allowed("http://chat.example.com", forwarded)
    assert not origin_allowed("https://chat.example.com", scope("chat.example.com"))


# --- through the ASGI application ------------------------------------------------------------
async def test_socket_from_another_port_or_scheme_is_refused(user, session_cookie):
    cookie = await sync_to_async(session_cookie)(user)
    assert await handshake("http://127.0.0.1:8000", "127.0.0.1:8000", cookie)
    assert not await handshake("http://127.0.0.1:1", "127.0.0.1:8000", cookie)
    assert not await handshake("https://127.0.0.1", "127.0.0.1:8000", cookie)
    assert await handshake("https://127.0.0.1", "127.0.0.1", cookie, scheme="wss")
