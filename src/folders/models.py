import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

NAME_MAX = 100


class Folder(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(max_length=NAME_MAX)
    # Defaults for new chats started in the folder ("": none; the user's own choice applies).
    model = models.CharField(max_length=200, blank=True, default="")
    system_prompt = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "created_at"]
        indexes = [models.Index(fields=["owner", "name"], name="folder_owner_name")]

    def __str__(self):
        return self.name
