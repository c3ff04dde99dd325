from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Mounted on chat's API from here: chat does not import its add-ons.
        from chat.api import api

        from .api import conversations_router, messages_router

        api.add_router("/messages/", messages_router)
        api.add_router("/conversations/", conversations_router)
