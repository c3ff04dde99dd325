from django.contrib import admin
from django.urls import include, path

from chat import views as chat_views
from chat.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("healthz", chat_views.healthz, name="healthz"),
    path("api/", api.urls),
    path("", include("chat.urls")),
]
