from django.apps import AppConfig


class FoldersConfig(AppConfig):
    """A user's folders of conversations (the conversation's `folder` is chat's field)."""

    name = "folders"
    default_auto_field = "django.db.models.BigAutoField"
