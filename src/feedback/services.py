"""Writes: rate an answer, withdraw a rating, mark ratings reviewed."""
from django.db import transaction
from django.utils import timezone

from chat.models import Message

from .models import Feedback
from .protocol import COMMENT_MAX, REASONS


class NotRateable(Exception):
    """No answer of this user's by that id (another user's, a user message, or missing)."""


class InvalidFeedback(ValueError):
    """A rating, reason or comment the rules refuse; the message says which."""


def _rateable(*, user, message_id) -> Message:
    """The user's own answer, finished (a streaming answer cannot be rated yet)."""
    message = (Message.objects.filter(id=message_id, role=Message.Role.ASSISTANT,
                                      conversation__owner_id=user.pk)
               .only("id", "conversation_id", "status").first())
    if message is None or message.status == Message.Status.STREAMING:
        raise NotRateable
    return message


def validate(*, rating: str, reason: str | None, comment: str | None) -> tuple[str, str, str]:
    """The normalized (rating, reason, comment), or InvalidFeedback."""
    if rating not in REASONS:
        raise InvalidFeedback("rating must be \"up\" or \"down\"")
    reason = reason or ""
    if reason and reason not in REASONS[rating]:
        raise InvalidFeedback(f"reason {reason[:40]!r} does not go with {rating!r}; "
                              f"choose one of {', '.join(REASONS[rating])}")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidFeedback(f"the comment has {len(comment)} characters; the limit is {COMMENT_MAX}")
    if "\x00" in comment or any("\ud800" <= ch <= "\udfff" for ch in comment):
        raise InvalidFeedback("the comment contains a NUL character or an unpaired surrogate")
    return rating, reason, comment


def feedback_set(*, user, message_id, rating: str, reason: str | None = None,
                 comment: str | None = None) -> tuple[Message, Feedback]:
    """Rate the user's answer, or change the rating; a changed rating is reviewed afresh.

    Raises NotRateable or InvalidFeedback.
    """
    rating, reason, comment = validate(rating=rating, reason=reason, comment=comment)
    message = _rateable(user=user, message_id=message_id)
    now = timezone.now()
    with transaction.atomic():
        feedback, _ = Feedback.objects.update_or_create(
            message=message, user=user,
            defaults={"rating": rating, "reason": reason, "comment": comment, "updated_at": now,
                      "reviewed_at": None, "reviewed_by": None},
            create_defaults={"rating": rating, "reason": reason, "comment": comment, "created_at": now,
                             "updated_at": now},
        )
    return message, feedback


def feedback_withdraw(*, user, message_id) -> tuple[Message, bool]:
    """Remove the user's rating of the answer; (message, whether there was one)."""
    message = _rateable(user=user, message_id=message_id)
    deleted, _ = Feedback.objects.filter(message=message, user=user).delete()
    return message, bool(deleted)


def feedback_mark_reviewed(*, feedback_ids, reviewer, reviewed: bool = True) -> int:
    """Mark ratings reviewed by `reviewer` (or not reviewed again); how many changed."""
    if reviewed:
        return Feedback.objects.filter(id__in=feedback_ids, reviewed_at__isnull=True).update(
            reviewed_at=timezone.now(), reviewed_by=reviewer)
    return Feedback.objects.filter(id__in=feedback_ids).update(reviewed_at=None, reviewed_by=None)
