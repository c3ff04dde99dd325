"""What the app sees of a request behind a proxy once serving.proxy.ForwardedClient has read
the proxy's headers: client address, scheme, Host. Served by Daphne behind nginx in
tests/e2e/test_proxy.py; settings (DJANGO_TRUSTED_PROXIES) from the environment."""
import json

import django

django.setup()

from serving.proxy import ForwardedClient  # noqa: E402


async def echo(scope, receive, send):
    assert scope["type"] == "http"
    headers = dict(scope["headers"])
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"],
                       "host": headers.get(b"host", b"").decode()}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


app = ForwardedClient(echo)
