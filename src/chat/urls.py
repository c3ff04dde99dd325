from django.urls import path

from . import views

urlpatterns = [
    path("", views.app_page, name="home"),
    path("c/<uuid:conversation_id>", views.app_page, name="conversation"),
    path("history", views.app_page, name="history"),
]
