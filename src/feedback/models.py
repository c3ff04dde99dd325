"""Ratings of answers: one per user per message, reviewed by admins."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from chat.models import Message


class Feedback(models.Model):
    class Rating(models.TextChoices):
        UP = "up", "👍 up"
        DOWN = "down", "👎 down"

    # The short list a user picks a reason from (feedback.protocol.REASONS: which go with
    # which rating).
    class Reason(models.TextChoices):
        HELPFUL = "helpful"
        ACCURATE = "accurate"
        WELL_WRITTEN = "well_written"
        INACCURATE = "inaccurate"
        UNHELPFUL = "unhelpful"
        INCOMPLETE = "incomplete"
        UNSAFE = "unsafe"
        OTHER = "other"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback")
    rating = models.CharField(max_length=8, choices=Rating.choices)
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True, default="")
    comment = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")

    class Meta:
        verbose_name_plural = "feedback"
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="feedback_one_per_user_per_message"),
        ]
        indexes = [
            # The queue: newest first, alone or by rating; the unreviewed ones apart.
            models.Index(fields=["-updated_at", "-id"], name="feedback_queue"),
            models.Index(fields=["rating", "-updated_at"], name="feedback_rating_queue"),
            models.Index(fields=["-updated_at"], name="feedback_unreviewed", condition=Q(reviewed_at__isnull=True)),
            models.Index(fields=["user", "-updated_at"], name="feedback_user_queue"),
        ]

    def __str__(self):
        return f"{self.get_rating_display()} on {self.message_id}"
