"""Reads: a user's ratings in a conversation; the messages around a rated answer."""
from chat.models import Message

from .models import Feedback


def conversation_feedback(*, user, conversation_id) -> dict[str, Feedback]:
    """The user's ratings of the answers of their conversation, by message id (one query)."""
    rows = Feedback.objects.filter(user=user, message__conversation_id=conversation_id,
                                   message__conversation__owner_id=user.pk)
    return {str(row.message_id): row for row in rows}


def messages_around(message: Message, *, before: int = 4, after: int = 2) -> list[Message]:
    """The rated answer with the messages just before and after it (two indexed queries,
    whatever the conversation's length)."""
    in_conversation = Message.objects.filter(conversation_id=message.conversation_id)
    earlier = list(in_conversation.filter(created_at__lt=message.created_at).order_by("-created_at")[:before])
    later = list(in_conversation.filter(created_at__gte=message.created_at).exclude(id=message.id)
                 .order_by("created_at")[:after])
    return [*reversed(earlier), message, *later]
