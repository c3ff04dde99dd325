"""Pages: the React app's shell and /healthz."""
import asyncio
import logging
import uuid

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

log = logging.getLogger(__name__)


@login_required
def app_page(request, conversation_id=None):
    """/, /c/<id>, /history: the client routes; Django only serves the shell."""
    bootstrap = {
        "username": request.user.get_username(),
        "loginUrl": reverse("login"),
        "logoutUrl": reverse("logout"),
        "signupUrl": reverse("signup"),
    }
    return render(request, "chat/app.html", {"bootstrap": bootstrap})


def _database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


async def healthz(request):
    """200 when the database and the channel layer answer, else 503."""
    checks = {}
    try:
        checks["database"] = await asyncio.wait_for(database_sync_to_async(_database_ok)(), 5)
    except Exception as exc:
        log.warning("healthz: database: %s", exc)
        checks["database"] = False
    try:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        probe = {"type": "healthz.probe", "nonce": uuid.uuid4().hex}
        await asyncio.wait_for(layer.send(channel, probe), 5)
        checks["channel_layer"] = (await asyncio.wait_for(layer.receive(channel), 5)) == probe
    except Exception as exc:
        log.warning("healthz: channel layer: %s", exc)
        checks["channel_layer"] = False
    if all(checks.values()):
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable", "checks": checks}, status=503)
