from django.apps import AppConfig


class SharingConfig(AppConfig):
    """Conversations in and out: import (ChatGPT's export, this app's own) and bulk export."""

    name = "sharing"
    default_auto_field = "django.db.models.BigAutoField"
