"""Liveness and readiness of one server process, told apart.

- `/healthz` (the contract's liveness): 200 `{"status": "ok"}` when the database and the
  channel layer (with REDIS_URL: Redis) answer, else 503 with the failed checks. A draining
  process is alive and says 200 until it exits.
- `/readyz` (readiness: should this process get new work?): the same checks, and not
  draining. 200 `{"status": "ready", ...}`, else 503 `{"status": "draining"}` or
  `{"status": "unavailable"}`; each answer also names the process and what it holds
  (answers running here, sockets open), so the processes of a deployment can be told apart.

Compose's healthcheck asks /readyz. nginx has no active checks (that is nginx Plus): it
learns from failed requests instead (deploy/nginx/chat.conf.template).
"""
import asyncio
import logging
import uuid

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from chat import generation

from . import drain

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 5


def _database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


async def _channel_layer_ok() -> bool:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    probe = {"type": "healthz.probe", "nonce": uuid.uuid4().hex}
    await asyncio.wait_for(layer.send(channel, probe), CHECK_TIMEOUT)
    return (await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT)) == probe


async def checks() -> dict[str, bool]:
    """Whether the database and the channel layer answer (each within CHECK_TIMEOUT s)."""
    results = {}
    for name, check in (("database", lambda: database_sync_to_async(_database_ok)()),
                        ("channel_layer", _channel_layer_ok)):
        try:
            results[name] = await asyncio.wait_for(check(), CHECK_TIMEOUT)
        except Exception as exc:
            log.warning("health: %s: %s", name, exc)
            results[name] = False
    return results


async def healthz(request):
    """Liveness (contract): 200 when the database and the channel layer answer, else 503."""
    results = await checks()
    if all(results.values()):
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable", "checks": results}, status=503)


async def readyz(request):
    """Readiness: 200 when this process should get new sockets and answers, else 503."""
    held = {"process": settings.CHAT_PROCESS_NAME, "answers": generation.running_count(),
            "sockets": drain.open_sockets()}
    if drain.draining():
        return JsonResponse({"status": "draining", **held}, status=503)
    results = await checks()
    if all(results.values()):
        return JsonResponse({"status": "ready", **held})
    return JsonResponse({"status": "unavailable", "checks": results, **held}, status=503)
