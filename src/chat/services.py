"""Writes. Each is sync and short; async callers wrap them in database_sync_to_async.

An answer costs a bounded number of writes: one transaction to store the user message
and open the answer, a partial save at most every CHAT_SAVE_INTERVAL, one final save.
"""
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from llm import Usage

from . import choices
from .models import Conversation, Message

TITLE_MAX = 60
TITLE_MODEL_MAX = Conversation._meta.get_field("title").max_length
# The error of an answer whose server process stopped while it was being written.
INTERRUPTED_ERROR = "The server stopped while this answer was being written."


class Busy(Exception):
    """An answer is already streaming in this conversation."""


class NotOwner(Exception):
    """The conversation belongs to another user."""


class TooManyAnswers(Exception):
    """The user already has CHAT_MAX_ANSWERS_PER_USER answers streaming."""


class NothingToAnswer(Exception):
    """Regenerate in a conversation with no user message."""


@dataclass
class Opened:
    """What message_send stored: the user message and the answer it opened."""

    conversation: Conversation
    user_message: Message
    answer: Message | None  # None when client_id repeated an earlier send
    conversation_created: bool = False
    titled: bool = False
    resettled: bool = False  # the send changed the conversation's settings

    @property
    def duplicate(self) -> bool:
        return self.answer is None


def make_title(content: str) -> str:
    """A short, clean title from the first line of a user message."""
    line = next((ln for ln in content.splitlines() if ln.strip()), "")
    line = re.sub(r"^[\s#>*`\-+]+|[`*_~]+", "", line)
    line = re.sub(r"\s+", " ", line).strip()
    if len(line) > TITLE_MAX:
        cut = line[:TITLE_MAX].rsplit(" ", 1)[0] or line[:TITLE_MAX]
        line = cut.rstrip(" ,.;:") + "…"
    return line or "New chat"


def conversation_title_by_model(*, conversation_id, title: str) -> Conversation | None:
    """Put the model's title on a conversation that still has its first-message title.

    One conditional UPDATE: a rename (title_source `user`), even one that landed while the
    model was being asked, is never overwritten. None when nothing was changed.
    """
    if not Conversation.objects.filter(
        id=conversation_id, title_source=Conversation.TitleSource.FIRST_MESSAGE
    ).update(title=title[:TITLE_MODEL_MAX], title_source=Conversation.TitleSource.MODEL):
        return None
    return Conversation.objects.filter(id=conversation_id).first()


def _lock_conversation(conversation_id) -> Conversation | None:
    return Conversation.objects.select_for_update().filter(id=conversation_id).first()


def _lock_user(user) -> None:
    """Serialize one user's sends, so parallel sends cannot race past the answer cap."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


def _open_answer(conversation: Conversation, parent: Message, model: str, now) -> Message:
    """The caller holds the user's lock (_lock_user) in the same transaction.

    Busy (an answer streams in this conversation) and the per-user cap (one user's running
    answers are capped, so one user cannot take a whole process) in one query.
    """
    streaming = Message.objects.filter(conversation__owner_id=conversation.owner_id, status=Message.Status.STREAMING)
    counts = streaming.aggregate(here=Count("id", filter=Q(conversation_id=conversation.id)), mine=Count("id"))
    if counts["here"]:
        raise Busy
    if counts["mine"] >= settings.CHAT_MAX_ANSWERS_PER_USER:
        raise TooManyAnswers
    return Message.objects.create(
        conversation=conversation, role=Message.Role.ASSISTANT, status=Message.Status.STREAMING,
        parent=parent, model=model,
        # Strictly after its question, so ordering by created_at is stable.
        created_at=max(now, parent.created_at + timedelta(microseconds=1)),
        updated_at=now,
    )


def message_send(*, user, conversation_id, content: str, client_id: str | None,
                 model: str | None = None, chosen: dict | None = None) -> Opened:
    """Store a user message (creating the conversation on first send) and open its answer.

    `chosen`: settings to keep from now on (chat.choices); `model`: the id the answer
    records, by default the conversation's model. Raises llm.catalogue.UnknownModel (a
    model not offered, chosen or kept) with nothing stored.
    """
    try:
        with transaction.atomic():
            return _message_send(user=user, conversation_id=conversation_id, content=content,
                                 client_id=client_id, model=model, chosen=chosen or {})
    except IntegrityError:
        # Two sends with one client_id raced (or two first sends created the conversation):
        # the loser finds what the winner stored.
        with transaction.atomic():
            return _message_send(user=user, conversation_id=conversation_id, content=content,
                                 client_id=client_id, model=model, chosen=chosen or {})


def _message_send(*, user, conversation_id, content, client_id, model, chosen) -> Opened:
    now = timezone.now()
    _lock_user(user)
    conversation = _lock_conversation(conversation_id)
    created = titled = False
    settings_changed = []
    if conversation is None:
        conversation = Conversation(id=conversation_id, owner=user, title=make_title(content),
                                    created_at=now, updated_at=now)
        choices.settle_new(conversation, user=user, chosen=chosen)
        conversation.save(force_insert=True)
        created = titled = True
    elif conversation.owner_id != user.pk:
        raise NotOwner
    if client_id is not None and not created:  # a new conversation holds no earlier send
        earlier = conversation.messages.filter(client_id=client_id).first()
        if earlier is not None:
            return Opened(conversation, earlier, None)
    if chosen and not created:
        settings_changed = choices.settle_existing(conversation, user=user, chosen=chosen)
    model = model or choices.answer_model(conversation)  # a withdrawn model is refused here
    question = Message.objects.create(
        conversation=conversation, role=Message.Role.USER, content=content,
        client_id=client_id, created_at=now, updated_at=now,
    )
    # Busy and the answer cap are checked here; a refusal rolls the question back with the
    # transaction, so nothing is stored.
    answer = _open_answer(conversation, question, model, now)
    if not created:  # a new conversation was created with its title and activity
        fields = ["updated_at", *settings_changed]
        if not conversation.title:
            conversation.title = make_title(content)
            fields.append("title")
            titled = True
        conversation.updated_at = now
        conversation.save(update_fields=fields)
    return Opened(conversation, question, answer, conversation_created=created, titled=titled,
                  resettled=bool(settings_changed))


def answer_regenerate(*, user, conversation_id, model: str | None = None) -> Message:
    """Open a new answer to the last user message; earlier answers stay.

    `model`: the id the answer records, by default the conversation's (UnknownModel when
    it is withdrawn). The answer comes back with its conversation (`answer.conversation`).
    """
    with transaction.atomic():
        _lock_user(user)
        conversation = _lock_conversation(conversation_id)
        if conversation is None:
            raise NothingToAnswer
        if conversation.owner_id != user.pk:
            raise NotOwner
        question = conversation.messages.filter(role=Message.Role.USER).order_by("-created_at").first()
        if question is None:
            raise NothingToAnswer
        now = timezone.now()
        answer = _open_answer(conversation, question, model or choices.answer_model(conversation), now)
        conversation.updated_at = now
        conversation.save(update_fields=["updated_at"])
        return answer


def answer_note_context(*, answer: Message, omitted: int) -> None:
    """Record on an opening answer how many earlier messages its context left out."""
    answer.context_omitted = omitted
    if omitted:
        Message.objects.filter(id=answer.id).update(context_omitted=omitted)


def answers_save_partial(*, rows: list[tuple[str, str, str, int]]) -> None:
    """Persist the text so far of several streaming answers in one batched statement.

    rows: (answer id, content, reasoning, seq). Only rows still `streaming` are touched,
    so a save that lands after an answer's final save cannot undo it. One parameterized
    UPDATE run over all rows (executemany: one round trip with psycopg's pipeline), not
    QuerySet.bulk_update: its CASE expression over every row took most of the ORM thread's
    time for partial saves at 60 answers.
    """
    now = timezone.now()
    fields = [Message._meta.get_field(name) for name in ("content", "reasoning", "seq", "updated_at", "id", "status")]
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(f.column)} = %s" for f in fields[:4])
    sql = (f"UPDATE {qn(Message._meta.db_table)} SET {sets} "
           f"WHERE {qn(fields[4].column)} = %s AND {qn(fields[5].column)} = %s")
    params = [
        [field.get_db_prep_value(value, connection)
         for field, value in zip(fields, (content, reasoning, seq, now, answer_id, Message.Status.STREAMING))]
        for answer_id, content, reasoning, seq in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def answer_finish(*, answer_id, status: str, content: str, reasoning: str, seq: int,
                  error: str | None = None, usage: Usage | None = None) -> Message | None:
    """Store an answer's final state and bump its conversation's activity (None if deleted)."""
    now = timezone.now()
    fields = dict(status=status, content=content, reasoning=reasoning, seq=seq, error=error,
                  updated_at=now)
    if usage is not None:
        fields.update(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
    with transaction.atomic():
        Message.objects.filter(id=answer_id).update(**fields)
        answer = Message.objects.filter(id=answer_id).first()
        if answer is None:  # the conversation was deleted while the answer ran
            return None
        Conversation.objects.filter(id=answer.conversation_id).update(updated_at=now)
    return answer


def answer_interrupt(*, answer_id, content: str | None = None, reasoning: str | None = None,
                     seq: int | None = None) -> Message | None:
    """Mark an orphaned streaming answer `interrupted`, keeping the longest text known.

    Returns None when the answer is no longer streaming (it ended meanwhile).
    """
    fields = dict(status=Message.Status.INTERRUPTED, updated_at=timezone.now(), error=INTERRUPTED_ERROR)
    if content is not None:
        fields.update(content=content, reasoning=reasoning or "", seq=seq or 0)
    if not Message.objects.filter(id=answer_id, status=Message.Status.STREAMING).update(**fields):
        return None
    return Message.objects.get(id=answer_id)
