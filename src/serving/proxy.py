"""The client's address and scheme behind a proxy, believed only from the proxy itself.

nginx (deploy/nginx/) appends the address it saw to X-Forwarded-For, sends it alone in
X-Real-IP, and says its own scheme in X-Forwarded-Proto. Anyone can send those headers, so
they count only when the peer of the connection is in DJANGO_TRUSTED_PROXIES. The client is
then the last address of X-Forwarded-For that is not a trusted proxy itself (the ones before
it are whatever the client wrote), or X-Real-IP when there is no X-Forwarded-For.

An ASGI middleware around the whole application, so that HTTP requests (REMOTE_ADDR,
is_secure()) and WebSockets (scope["client"], the Origin check's scheme) agree.
"""
import ipaddress

from django.conf import settings

_SCHEMES = {("http", "https"): "https", ("http", "http"): "http",
            ("websocket", "https"): "wss", ("websocket", "http"): "ws"}


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def trusted(address) -> bool:
    ip = _ip(address) if isinstance(address, str) else address
    return ip is not None and any(ip in network for network in settings.TRUSTED_PROXIES)


def client_address(forwarded_for: str | None, real_ip: str | None) -> str | None:
    """The client's address from a trusted proxy's headers; None when they name none."""
    if forwarded_for:
        client = None
        for hop in reversed([hop for hop in forwarded_for.split(",") if hop.strip()]):
            ip = _ip(hop)
            if ip is None:
                break  # garbage written by the client: the hop after it is all we know
            client = str(ip)
            if not trusted(ip):
                break
        return client
    ip = _ip(real_ip) if real_ip else None
    return str(ip) if ip is not None else None


class ForwardedClient:
    """Puts the proxy's client address and scheme into the scope, when the peer is trusted."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        peer = scope.get("client")
        if scope["type"] in ("http", "websocket") and peer and settings.TRUSTED_PROXIES and trusted(peer[0]):
            headers = {}
            for name, value in scope.get("headers", []):
                name = name.decode("latin1").lower()
                value = value.decode("latin1")
                headers[name] = f"{headers[name]},{value}" if name in headers else value
            address = client_address(headers.get("x-forwarded-for"), headers.get("x-real-ip"))
            proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            scope = dict(scope)
            if address is not None:
                scope["client"] = [address, 0]  # the port the client used is not passed on
            if (scope["type"], proto) in _SCHEMES:
                scope["scheme"] = _SCHEMES[scope["type"], proto]
        return await self.application(scope, receive, send)
