from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from chat.api import api
from metrics.views import metrics
from serving import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("healthz", health.healthz, name="healthz"),  # liveness (the contract's)
    path("readyz", health.readyz, name="readyz"),  # readiness: not while draining
    path("metrics", metrics, name="metrics"),  # Prometheus; loopback or METRICS_TOKEN only
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (JSON, the API docs).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("api/", api.urls),
    path("", include("chat.urls")),
]
