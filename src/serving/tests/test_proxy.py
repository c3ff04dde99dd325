"""The client's address and scheme from X-Forwarded-For / X-Real-IP / X-Forwarded-Proto,
believed only from DJANGO_TRUSTED_PROXIES (serving.proxy). nginx in front for real:
tests/e2e/test_proxy.py."""
import ipaddress

import pytest

from serving.proxy import ForwardedClient, client_address


@pytest.fixture(autouse=True)
def trusted(settings):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1")]


async def seen(peer, headers: dict, kind="http"):
    """The scope the application gets behind ForwardedClient."""
    scopes = []

    async def app(scope, receive, send):
        scopes.append(scope)

    scope = {"type": kind, "scheme": "ws" if kind == "websocket" else "http", "client": [peer, 5555],
             "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()]}
    await ForwardedClient(app)(scope, None, None)
    return scopes[0]


async def test_the_proxys_headers_name_the_client():
    scope = await seen("127.0.0.1", {"X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.7",
                                     "X-Forwarded-Proto": "https"})
    assert scope["client"] == ["198.51.100.7", 0] and scope["scheme"] == "https"
    socket = await seen("10.1.2.3", {"X-Real-IP": "198.51.100.7", "X-Forwarded-Proto": "https"}, "websocket")
    assert socket["client"] == ["198.51.100.7", 0] and socket["scheme"] == "wss"


async def test_anyone_elses_headers_are_ignored():
    headers = {"X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.7", "X-Forwarded-Proto": "https"}
    scope = await seen("203.0.113.5", headers)
    assert scope["client"] == ["203.0.113.5", 5555] and scope["scheme"] == "http"


async def test_nothing_is_trusted_by_default(settings):
    settings.TRUSTED_PROXIES = []
    scope = await seen("127.0.0.1", {"X-Forwarded-For": "198.51.100.7"})
    assert scope["client"] == ["127.0.0.1", 5555]


@pytest.mark.parametrize("forwarded_for, client", [
    ("198.51.100.7", "198.51.100.7"),
    # What the client wrote comes first; the proxies append: the last untrusted hop is the client.
    ("1.1.1.1, 198.51.100.7", "198.51.100.7"),
    ("1.1.1.1, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
    ("not-an-address, 198.51.100.7", "198.51.100.7"),
    ("198.51.100.7, bogus, 10.0.0.2", "10.0.0.2"),  # garbage after the client: the hop we know
    ("2001:db8::1", "2001:db8::1"),
    (" , ", None),
])
def test_the_client_is_the_last_hop_that_is_no_trusted_proxy(forwarded_for, client):
    assert client_address(forwarded_for, None) == client


def test_x_real_ip_counts_without_x_forwarded_for():
    assert client_address(None, "198.51.100.7") == "198.51.100.7"
    assert client_address(None, "nonsense") is None
    assert client_address("198.51.100.8", "198.51.100.7") == "198.51.100.8"


async def test_headers_sent_twice_are_one_list():
    scopes = []

    async def app(scope, receive, send):
        scopes.append(scope)

    headers = [(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-for", b"198.51.100.7")]
    await ForwardedClient(app)({"type": "http", "scheme": "http", "client": ["127.0.0.1", 1], "headers": headers},
                               None, None)
    assert scopes[0]["client"] == ["198.51.100.7", 0]


async def test_lifespan_and_clientless_scopes_pass_through():
    scopes = []

    async def app(scope, receive, send):
        scopes.append(scope)

    await ForwardedClient(app)({"type": "lifespan"}, None, None)
    await ForwardedClient(app)({"type": "http", "client": None, "headers": []}, None, None)
    assert scopes == [{"type": "lifespan"}, {"type": "http", "client": None, "headers": []}]
