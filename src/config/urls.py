from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from chat.api import api
from metrics.views import metrics
from serving import health
from folders.api import router as folders_api
from sharing.api import router as sharing_api
from sharing.views import shared_page

# Apps beside chat add their routes here: chat does not import them.
api.add_router("/", sharing_api)
api.add_router("/", folders_api)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("healthz", health.healthz, name="healthz"),  # liveness (the contract's)
    path("readyz", health.readyz, name="readyz"),  # readiness: not while draining
    path("metrics", metrics, name="metrics"),  # Prometheus; loopback or METRICS_TOKEN only
    # Browsers ask for /favicon.ico on pages without a <link rel="icon"> (JSON, the API docs).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("api/", api.urls),
    path("s/<str:token>", shared_page, name="shared"),
    path("", include("chat.urls")),
]
