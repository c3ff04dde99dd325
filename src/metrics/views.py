"""`/metrics`: this process's metrics in Prometheus' text format, for its scraper only.

With METRICS_TOKEN set, a request must carry `Authorization: Bearer <token>`. Without it,
only a direct loopback connection gets an answer (a request through a proxy, carrying
X-Forwarded-For or X-Real-IP, does not): scrape each process on its own address from the
same host, or set a token. Anyone else gets a 404, as if there were no such page.
"""
import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotFound
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


def allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if "X-Forwarded-For" in request.headers or "X-Real-IP" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def metrics(request):
    if not settings.METRICS_ENABLED or not allowed(request):
        return HttpResponseNotFound("Not found.", content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
