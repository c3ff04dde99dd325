"""The WebSocket Origin check: exactly the site's own origins, as Django's CSRF check sees them.

Channels' AllowedHostsOriginValidator compares only the host, so `http://127.0.0.1:1` or
`https://127.0.0.1` passed for a site served at `http://127.0.0.1:8000`: any other service
on an allowed host (another port, or the other scheme) could open sockets with the user's
cookie. Here an Origin passes when it is
- the request's own origin (scheme, host and port of this socket, the scheme taken as
  https behind a proxy that sets SECURE_PROXY_SSL_HEADER) and its host is in ALLOWED_HOSTS
  (matched as Channels and Django do; the Host header alone would let DNS rebinding in), or
- one of CSRF_TRUSTED_ORIGINS (exact, or `scheme://*.domain` for subdomains, as Django).
"""
from urllib.parse import urlsplit

from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, host: str) -> tuple[str, str, int] | None:
    """(scheme, hostname, port) with the default port filled in; None when unparsable."""
    try:
        parts = urlsplit(f"{scheme}://{host}")
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname, port or _DEFAULT_PORTS[scheme]


def _headers(scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


def request_origin(scope) -> tuple[str, str, int] | None:
    """The origin a page served by this socket's server has: http(s) + the Host header."""
    headers = _headers(scope)
    secure = scope.get("scheme") in ("wss", "https")
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if proxy:  # e.g. ("HTTP_X_FORWARDED_PROTO", "https"), as Django reads it
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode("latin1")
        secure = headers.get(name, b"").decode("latin1").split(",")[0].strip() == proxy[1]
    host = headers.get(b"host", b"").decode("latin1")
    if not host:
        return None
    return _origin("https" if secure else "http", host)


def allowed_hosts() -> list[str]:
    hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:  # as Django and AllowedHostsOriginValidator do
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


def origin_allowed(origin_header: str | None, scope) -> bool:
    if not origin_header:
        return False
    try:
        parsed = urlsplit(origin_header.strip().lower())
    except ValueError:
        return False
    if parsed.path not in ("", "/") or parsed.query or parsed.username or parsed.password:
        return False
    origin = _origin(parsed.scheme, parsed.netloc)
    if origin is None:
        return False
    own = request_origin(scope)
    if origin == own and validate_host(split_domain_port(parsed.netloc)[0] or origin[1], allowed_hosts()):
        return True
    return any(_trusted(origin, pattern) for pattern in settings.CSRF_TRUSTED_ORIGINS)


def _trusted(origin: tuple[str, str, int], pattern: str) -> bool:
    scheme, _, rest = pattern.lower().partition("://")
    wildcard = rest.startswith("*.")
    trusted = _origin(scheme, rest[1:] if wildcard else rest)
    if trusted is None:
        return False
    if wildcard:  # `*.example.com` as Django: the domain and its subdomains
        return origin[0] == trusted[0] and origin[2] == trusted[2] and is_same_domain(origin[1], trusted[1])
    return origin == trusted


class SameOriginValidator(OriginValidator):
    """Refuses (403 at the handshake) a socket whose Origin is not one of the site's own."""

    def __init__(self, application):
        super().__init__(application, allowed_origins=[])

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator guards WebSocket connections only")
        origin = _headers(scope).get(b"origin")
        if origin_allowed(origin.decode("latin1") if origin is not None else None, scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
