"""ASGI entry point: HTTP through Django, WebSockets through the chat consumer."""
import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.routing import websocket_urlpatterns  # noqa: E402
from config import ws_server  # noqa: E402
from config.origin import SameOriginValidator  # noqa: E402
from serving.proxy import ForwardedClient  # noqa: E402

# Oversized frames: close code 1009 instead of a dropped connection; a client that stops
# reading is dropped past CHAT_SOCKET_BUFFER_BYTES instead of growing the server's memory;
# SIGTERM drains (serving.drain).
ws_server.install(max_buffer=settings.CHAT_SOCKET_BUFFER_BYTES)

# The client's address and scheme as the proxy in front saw them, from that proxy only.
application = ForwardedClient(ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
))

if settings.CHAT_RECOVER_ON_START:
    # Answers a dead process left `streaming` become `interrupted` (see chat.actions).
    from chat.recovery import recover_on_start

    try:
        recovered = recover_on_start()
        if recovered:
            logging.getLogger("chat").warning("marked %d orphaned answer(s) interrupted", recovered)
    except Exception as exc:  # e.g. before the first migrate; read-time repair still applies
        logging.getLogger("chat").warning("start-up recovery skipped: %s", exc)

# The token counter bounds every answer's context (llm.tokens): load it before the first send.
from llm import tokens  # noqa: E402

tokens.warm_up()

# The providers' clients (HTTP pool, SSL context) are built once, now, not by the first
# answer: one per model of the catalogue (LLM_MODELS). A misconfigured provider is reported
# by the first send, with a message the user can read.
try:
    from llm import catalogue  # noqa: E402

    catalogue.catalogue()
except Exception as exc:  # noqa: BLE001
    logging.getLogger("chat").warning("LLM provider not ready at start-up: %s", exc)

# Everything loaded so far (Django, LangChain, the token tables: some 230,000 objects) lives
# as long as the process: keep it out of the collector's full passes, which otherwise scan
# it all and paused the loop for 100-300 ms at a time under load (every answer stalled).
import gc  # noqa: E402

gc.freeze()
# And collect the young generation every 10,000 allocations, not 700: an answer's objects
# live for seconds, and frequent young passes promoted them into full passes. At L2 (60
# answers) this cut the collector's time 8x (4.1 s -> 0.5 s per run, no full pass at all).
gc.set_threshold(10_000, 10, 10)
