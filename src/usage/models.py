"""Token usage per user, model and day; prices per model."""
from django.conf import settings
from django.db import models


class DailyUsage(models.Model):
    """One user's answers from one model on one day (UTC), added up as answers end."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_usage")
    model = models.CharField(max_length=200)
    day = models.DateField()
    answers = models.PositiveIntegerField(default=0)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    # Answers whose tokens were counted here (tiktoken's cl100k_base) because the upstream
    # reported no usage: their figures are estimates.
    counted_answers = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily usage"
        constraints = [models.UniqueConstraint(fields=["user", "model", "day"], name="usage_one_row_per_user_model_day")]
        indexes = [models.Index(fields=["day", "user"], name="usage_day_user")]

    def __str__(self):
        return f"{self.user_id} {self.model} {self.day}"


class ModelPrice(models.Model):
    """What a model costs, per million tokens (USAGE_CURRENCY)."""

    model = models.CharField(max_length=200, unique=True)
    input_per_million = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=4, default=0)

    class Meta:
        ordering = ["model"]

    def __str__(self):
        return self.model


class Quota(models.Model):
    """Budgets of one user or of one group's members, overriding the QUOTA_* settings.

    Each budget left empty follows the next rule (a user's own, then their groups', then the
    settings); 0 means no limit. A user in several groups gets the most generous of theirs.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="quota")
    group = models.OneToOneField("auth.Group", on_delete=models.CASCADE, null=True, blank=True, related_name="quota")
    daily_messages = models.PositiveIntegerField(null=True, blank=True)
    monthly_messages = models.PositiveIntegerField(null=True, blank=True)
    daily_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    monthly_tokens = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False, group__isnull=True)
                           | models.Q(user__isnull=True, group__isnull=False)),
                name="quota_for_a_user_or_a_group",
            ),
        ]

    def __str__(self):
        return f"quota of {self.user or self.group}"
