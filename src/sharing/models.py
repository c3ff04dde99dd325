"""Imports: a job per uploaded file (its progress and outcome), and which source
conversations each user already imported (so importing a file twice adds nothing)."""
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ImportJob(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs")
    filename = models.CharField(max_length=255, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    # "reading" the file, then "saving" it in one transaction; `done` of `total` conversations read.
    phase = models.CharField(max_length=16, default="reading")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)  # imported before (or still here)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)  # a beat while it runs

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="import_owner_recent")]

    def __str__(self):
        return f"{self.filename or self.id} ({self.status})"


class ImportedConversation(models.Model):
    """One source conversation imported by one user: the key of idempotent imports."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=32)  # "chatgpt" | "chat-json"
    source_id = models.CharField(max_length=200)
    # The copy made here; null once the user deleted it (importing again then brings it back).
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "source", "source_id"], name="imported_once_per_owner"),
        ]


class Share(models.Model):
    """A read-only link to a conversation as it was when shared: the shown branch is copied
    (`messages`), so later messages, edits and renames never show through the link."""

    token = models.CharField(max_length=64, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares")
    # Deleting the conversation deletes its links.
    conversation = models.ForeignKey("chat.Conversation", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200, blank=True, default="")
    messages = models.JSONField(default=list)  # [{role, content, reasoning, model, created_at}]
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="share_owner_recent")]

    def __str__(self):
        return f"{self.title or self.conversation_id} ({self.token[:6]}…)"
