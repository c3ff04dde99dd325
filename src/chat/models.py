"""Conversations and their messages: fields, constraints, indexes, small state helpers."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Conversation(models.Model):
    class TitleSource(models.TextChoices):
        FIRST_MESSAGE = "first_message"  # made from the first question; the model may replace it
        MODEL = "model"  # asked of the conversation's model (chat.titles)
        USER = "user"  # a rename: never overwritten

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Last activity: bumped when a message is stored or an answer ends.
    updated_at = models.DateTimeField(default=timezone.now)
    # The shown branch: the message it ends at (a tree's leaf, or any message whose newest
    # descendants are then shown). Stored so a reload, another tab or device shows the same.
    active_leaf = models.ForeignKey(
        "Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Organizing (all additions): pinned ones top the sidebar, archived ones leave it (still
    # found on the history page and by search), a folder groups them (deleting it unfiles).
    pinned_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    folder = models.ForeignKey(
        "folders.Folder", on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    # Settings. `model` is an id of llm.catalogue; "" is the catalogue's default
    # (conversations older than the picker). The database gives model, system_prompt and
    # title_source defaults of its own (migration 0007), so rows inserted by raw SQL need no
    # value either; the fields do not say db_default (see 0008).
    model = models.CharField(max_length=200, blank=True, default="")
    # Put after CHAT_SYSTEM_PROMPT in the one system message (chat.selectors.system_prompt).
    system_prompt = models.TextField(blank=True, default="")
    temperature = models.FloatField(null=True, blank=True)  # None: the model's default
    title_source = models.CharField(max_length=16, choices=TitleSource.choices,
                                    default=TitleSource.FIRST_MESSAGE)

    class Meta:
        # "My conversations, newest activity first", keyset-paginated on (updated_at, id).
        indexes = [
            models.Index(fields=["owner", "-updated_at", "-id"], name="conv_owner_activity"),
            # A folder's conversations, newest activity first (the sidebar opens one at a time).
            models.Index(fields=["folder", "-updated_at", "-id"], name="conv_folder_activity"),
        ]
        ordering = ["-updated_at", "-id"]

    def __str__(self):
        return self.title or str(self.id)


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete"
        STREAMING = "streaming"
        STOPPED = "stopped"
        ERROR = "error"
        INTERRUPTED = "interrupted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True, default="")
    reasoning = models.TextField(blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETE)
    # Number of deltas folded into content + reasoning (meaningful while streaming).
    seq = models.PositiveIntegerField(default=0)
    error = models.TextField(null=True, blank=True)
    model = models.CharField(max_length=200, null=True, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    client_id = models.CharField(max_length=100, null=True, blank=True)
    # On an answer: earlier messages dropped to fit the model's window (selectors.answer_context).
    # The database's default (migration 0004) serves rows inserted by raw SQL (bench
    # loaders, imports); the field does not say db_default (see 0008).
    context_omitted = models.PositiveIntegerField(default=0)
    # The tree: an answer's parent is its question; a question's parent is the answer it
    # follows (None for a first message). Siblings (one parent) are edits or regenerations.
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique_per_conversation",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="msg_conv_created"),
            # Admin's newest-first list and date filter.
            models.Index(fields=["-created_at"], name="msg_created"),
            # Only a handful of rows are ever streaming: a partial index finds them at once.
            models.Index(
                fields=["status"], name="msg_streaming", condition=Q(status="streaming")
            ),
            # Admin's status filter, newest first: the rare statuses only (not `complete`).
            models.Index(
                fields=["status", "-created_at"], name="msg_status_unusual",
                condition=~Q(status="complete"),
            ),
        ]

    def __str__(self):
        return f"{self.role}: {self.content[:60]}"

    @property
    def usage(self):
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return {"input_tokens": self.input_tokens or 0, "output_tokens": self.output_tokens or 0}


class ChatPreference(models.Model):
    """A user's last choice of model, system prompt and temperature: a new chat takes it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="chat_preference")
    model = models.CharField(max_length=200, blank=True, default="")
    system_prompt = models.TextField(blank=True, default="")
    temperature = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.user_id}: {self.model or 'default model'}"
