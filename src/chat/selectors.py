"""Reads. Sync; async callers wrap them in database_sync_to_async."""
import enum
from typing import NamedTuple

from django.conf import settings

from llm import tokens

from . import tree
from .models import Conversation, Message
from .services import NotOwner


class Access(enum.Enum):
    MISSING = "missing"  # not created yet: the first message.send creates it
    OWN = "own"
    OTHER = "other"


def conversation_access(*, user, conversation_id) -> Access:
    owner_id = Conversation.objects.filter(id=conversation_id).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return Access.MISSING
    return Access.OWN if owner_id == user.pk else Access.OTHER


def conversation_with_messages(*, owner_id, conversation_id) -> tuple[Conversation | None, list[Message]]:
    """The owner's conversation and its messages; (None, []) before it exists.

    Raises NotOwner when the id belongs to another user's conversation.
    """
    conversation = Conversation.objects.filter(id=conversation_id).first()
    if conversation is None:
        return None, []
    if conversation.owner_id != owner_id:
        raise NotOwner
    return conversation, list(conversation.messages.all())


class SendLook(NamedTuple):
    """What a send's first look saw of its conversation (chat.sending)."""

    conversation: Conversation | None  # None: it held no message (it is not created yet, most likely)
    messages: list[Message]  # all of them, without their reasoning


def send_look(*, user, conversation_id, annotations: dict | None = None) -> SendLook:
    """The user's conversation with its messages, in one query (each carries its conversation,
    and the `annotations`, which another check may ride on: accounts.sessions.Riding).
    Raises NotOwner when the id belongs to another user's conversation."""
    messages = list(Message.objects.filter(conversation_id=conversation_id).select_related("conversation")
                    .defer("reasoning").annotate(**(annotations or {})))
    if not messages:
        return SendLook(None, [])
    if messages[0].conversation.owner_id != user.pk:
        raise NotOwner
    return SendLook(messages[0].conversation, messages)


def streaming_answers(*, owner_id, conversation_id) -> list[Message]:
    return list(Message.objects.filter(conversation_id=conversation_id, conversation__owner_id=owner_id,
                                       status=Message.Status.STREAMING))


def streaming_answers_by_id(*, ids) -> list[Message]:
    """Those of `ids` still streaming, with their conversation (for its owner)."""
    return list(Message.objects.select_related("conversation")
                .filter(id__in=ids, status=Message.Status.STREAMING))


def all_streaming_answers() -> list[Message]:
    return list(Message.objects.filter(status=Message.Status.STREAMING))


class Context(NamedTuple):
    """What is sent upstream for one answer, and how many earlier messages were left out."""

    messages: list[tuple[str, str]]
    omitted: int


def context_budget() -> int:
    """Tokens the request may take: the model's window less the room kept for the answer."""
    return settings.LLM_CONTEXT_TOKENS - settings.LLM_OUTPUT_RESERVE


def answer_context(*, conversation_id, question: Message, system_prompt: str = "",
                   budget: int | None = None, earlier: list[Message] | None = None) -> Context:
    """The messages sent upstream: built from the database, never from the client.

    The branch of `question`: its path from the first message down to it, through the
    answers it follows; no message of another branch. Answers that produced no text are
    left out. The oldest turns are dropped to fit `budget` tokens (default:
    context_budget()); the system prompt and `question` are always kept (send_message
    refuses a question too long to fit). `earlier=[]` says the conversation holds nothing
    before `question` (it was just created), saving a read.
    """
    if earlier is None:
        # The whole tree, not only older rows: another process's clock may be behind.
        earlier = list(
            Message.objects.filter(conversation_id=conversation_id).only("id", "role", "content", "parent_id")
        )
    by_id = {m.id: m for m in earlier}
    path = [by_id[i] for i in tree.path_up({m.id: m.parent_id for m in earlier}, question.parent_id)]
    context = [("system", system_prompt)] if system_prompt else []
    for message in reversed(path):
        if message.role == Message.Role.USER or message.content:
            context.append((message.role, message.content))
    context.append(("user", question.content))
    kept, omitted = tokens.fit(context, context_budget() if budget is None else budget)
    return Context(kept, omitted)

