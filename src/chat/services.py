"""Writes. Each is sync and short; async callers wrap them in database_sync_to_async.

An answer costs a bounded number of writes: one transaction to store the user message
and open the answer, a partial save at most every CHAT_SAVE_INTERVAL, one final save.
"""
import contextlib
import functools
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from llm import Usage

from . import choices, tree
from .models import Conversation, Message

TITLE_MAX = 60
TITLE_MODEL_MAX = Conversation._meta.get_field("title").max_length
MODEL_MAX = Message._meta.get_field("model").max_length
# Rows of one partial save's statement: 4 parameters each, well under SQLite's 32,766.
PARTIAL_ROWS_PER_STATEMENT = 1000
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


class NoSuchMessage(Exception):
    """A message id that names no fitting message of this conversation (a new question's
    parent must be an answer; a branch to show must be a message of the conversation)."""


# `parent_id` not given: the new question continues the conversation's shown branch.
SHOWN_BRANCH = object()


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
    """Serialize one user's sends, so parallel sends cannot race past the answer cap.

    Its row is not read: in a pipeline (_stored_together) the lock goes out with the next
    statement, which PostgreSQL runs, with a snapshot of its own, once the lock is held.
    SQLite has no row locks (Django leaves FOR UPDATE out): its write transactions
    (`transaction_mode` IMMEDIATE, config.settings) already run one at a time, so no
    statement is spent on it there.
    """
    if connection.features.has_select_for_update:
        locking = get_user_model().objects.select_for_update().filter(pk=user.pk).values("pk")
        sql, params = locking.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@contextlib.contextmanager
def _stored_together():
    """transaction.atomic(), whose statements go out together on PostgreSQL (psycopg's
    pipeline mode): a statement whose result is not read goes out with the next one that
    is read, or with the COMMIT, which goes out with the last of them when the block ends.
    A send's transaction then takes 3 round trips (BEGIN, the locks and reads, the writes
    with their COMMIT) instead of 7, and under load each round trip waits for the server
    process and for the interpreter lock. An error of a statement not read is raised when
    it goes out, at the latest when the block ends (a failed COMMIT too: the transaction is
    rolled back then). Elsewhere, a plain transaction.atomic().
    Inside, nothing may read a count of rows updated (save(update_fields=),
    update_or_create()): the pipeline has not received it yet.
    (Inside the transaction, since Django's autocommit switches would each cost a round
    trip in a pipeline; psycopg waits for BEGIN on its own. Fields with db_default would
    make every INSERT wait for its RETURNING: migration 0008.)"""
    outermost = not connection.in_atomic_block  # (else a savepoint: the COMMIT is the caller's)
    with transaction.atomic():
        if connection.vendor != "postgresql" or not _can_pipeline():
            yield
            return
        # (Errors raised as the pipeline ends come from psycopg: Django's wrapper makes them
        # Django's, as for every other statement.)
        with connection.wrap_database_errors, connection.connection.pipeline():
            yield
            if outermost:
                with connection.cursor() as cursor:
                    # Not after the block: atomic()'s own COMMIT would be a round trip of its
                    # own. It then finds the transaction ended, and psycopg sends nothing.
                    cursor.execute("COMMIT")


@functools.cache
def _can_pipeline() -> bool:
    import psycopg
    return psycopg.Pipeline.is_supported()  # libpq 14 and newer


def _check_room(conversation: Conversation) -> None:
    """The caller holds the user's lock (_lock_user) in the same transaction."""
    _refuse_without_room(_read_room(conversation.owner_id), conversation.id)


def _read_room(owner_id):
    """Start reading which conversations the owner's streaming answers are in; the cursor
    to read them from (_refuse_without_room). Under the user's lock, so in a send the read
    may go before the conversation's lock: in a pipeline (_stored_together) both go out in one
    round trip. The rows are few: the per-user cap bounds them."""
    streaming = (Message.objects.filter(conversation__owner_id=owner_id, status=Message.Status.STREAMING)
                 .values_list("conversation_id"))
    sql, params = streaming.query.sql_with_params()
    cursor = connection.cursor()
    cursor.execute(sql, params)
    return cursor


def _refuse_without_room(cursor, conversation_id) -> None:
    """Busy (an answer streams in this conversation) and the per-user cap (one user's running
    answers are capped, so one user cannot take a whole process), from _read_room."""
    with cursor:
        # (A raw cursor: SQLite gives the ids as 32 hex digits, PostgreSQL as UUIDs.)
        streaming = [uuid.UUID(str(row[0])) for row in cursor.fetchall()]
    if uuid.UUID(str(conversation_id)) in streaming:
        raise Busy
    if len(streaming) >= settings.CHAT_MAX_ANSWERS_PER_USER:
        raise TooManyAnswers


def _new_answer(conversation: Conversation, parent: Message, model: str, now, answer_id=None) -> Message:
    """An answer row, streaming, not saved; `answer_id` may be chosen by the caller."""
    return Message(
        id=uuid.UUID(str(answer_id)) if answer_id else uuid.uuid4(), conversation=conversation,
        role=Message.Role.ASSISTANT, status=Message.Status.STREAMING, parent=parent, model=model,
        # Strictly after its question, so ordering by created_at is stable.
        created_at=max(now, parent.created_at + timedelta(microseconds=1)),
        updated_at=now,
    )


def _open_answer(conversation: Conversation, parent: Message, model: str, now) -> Message:
    """Check for room (_check_room), then store the answer."""
    _check_room(conversation)
    answer = _new_answer(conversation, parent, model, now)
    answer.save(force_insert=True)
    return answer


def message_send(*, user, conversation_id, content: str, client_id: str | None,
                 model: str | None = None, chosen: dict | None = None, parent_id=SHOWN_BRANCH,
                 answer_id=None, seen_new: bool = False, last: dict | None = None) -> Opened:
    """Store a user message (creating the conversation on first send) and open its answer.

    The question follows `parent_id`, an answer of this conversation (None: a new first
    message, i.e. an edit of the first one); by default it continues the shown branch. The
    new answer becomes the shown branch's end. `chosen`: settings to keep from now on
    (chat.choices); `model`: the id the answer records, by default the conversation's model;
    `answer_id`: the answer's id, chosen by the caller (default: a new one).
    A caller that looked already may say the conversation did not exist then (`seen_new`):
    it is inserted without a look under lock; if it exists by now, the insert fails and the
    second try looks. `last`: the user's last choice (chat.choices.last_choice), when the
    caller read it already, for a conversation this send creates.
    Raises NoSuchMessage for a parent that is not an answer of this conversation, and
    llm.catalogue.UnknownModel (a model not offered, chosen or kept); nothing is stored then.
    """
    kwargs = dict(user=user, conversation_id=conversation_id, content=content, client_id=client_id,
                  model=model, chosen=chosen or {}, parent_id=parent_id, answer_id=answer_id, last=last)
    try:
        with _stored_together():
            # No look for an earlier send with this client_id (callers looked, outside the
            # transaction: under load every statement here waits its turn for the interpreter
            # lock); the unique constraint, or Busy while the earlier's answer streams,
            # sends a repeat to the second try.
            return _message_send(**kwargs, seen_new=seen_new)
    except Busy:
        if client_id is None:
            raise
    except IntegrityError:
        pass  # two sends with one client_id (or two first sends creating the conversation) raced
    # The loser finds what the winner stored.
    with transaction.atomic():
        return _message_send(**kwargs, look_for_earlier=True)


def _shown_tip(conversation: Conversation) -> Message | None:
    """The end of the shown branch: the stored one, else (rows from before the tree, or
    inserted by raw SQL) the newest message."""
    if conversation.active_leaf_id is not None:
        return Message.objects.filter(id=conversation.active_leaf_id).first()
    return conversation.messages.order_by("-created_at", "-id").first()


def _question_parent_id(conversation: Conversation, parent_id):
    """The id of the message a new question follows (no query in the common case: the
    stored end of the shown branch)."""
    if parent_id is SHOWN_BRANCH:
        if conversation.active_leaf_id is not None:
            return conversation.active_leaf_id
        tip = _shown_tip(conversation)
        return tip.id if tip is not None else None
    if parent_id is None:
        return None
    if not conversation.messages.filter(id=parent_id, role=Message.Role.ASSISTANT).exists():
        raise NoSuchMessage
    return parent_id


def _message_send(*, user, conversation_id, content, client_id, model, chosen, parent_id, answer_id,
                  last=None, seen_new=False, look_for_earlier=False) -> Opened:
    now = timezone.now()
    _lock_user(user)
    room = _read_room(user.pk)  # (read below, with the conversation's lock in one round trip)
    conversation = None if seen_new else _lock_conversation(conversation_id)
    created = titled = False
    settings_changed = []
    if conversation is None:
        # Inserted with the messages, below: one statement less than an INSERT now and an
        # UPDATE of its shown branch's end later.
        conversation = Conversation(id=conversation_id, owner=user, title=make_title(content),
                                    created_at=now, updated_at=now)
        choices.settle_new(conversation, user=user, chosen=chosen, last=last)
        created = titled = True
    elif conversation.owner_id != user.pk:
        raise NotOwner
    if look_for_earlier and client_id is not None and not created:  # a new conversation holds no earlier send
        earlier = conversation.messages.filter(client_id=client_id).first()
        if earlier is not None:
            return Opened(conversation, earlier, None)
    if created and parent_id not in (SHOWN_BRANCH, None):
        raise NoSuchMessage  # a new conversation holds no answer to follow
    parent_id = None if created else _question_parent_id(conversation, parent_id)
    if chosen and not created:
        settings_changed = choices.settle_existing(conversation, user=user, chosen=chosen)
    model = model or choices.answer_model(conversation)  # a withdrawn model is refused here
    # Busy and the answer cap; a refusal rolls back the transaction, so nothing is stored.
    _refuse_without_room(room, conversation.id)
    question = Message(
        conversation=conversation, role=Message.Role.USER, content=content, parent_id=parent_id,
        client_id=client_id, created_at=now, updated_at=now,
    )
    answer = _new_answer(conversation, question, model, now, answer_id)
    conversation.updated_at, conversation.active_leaf = now, answer
    if created:
        # Its end of the shown branch is the answer inserted next: the foreign keys are
        # checked at COMMIT (Django declares them DEFERRABLE INITIALLY DEFERRED).
        conversation.save(force_insert=True)
        Message.objects.bulk_create([question, answer])
    else:
        Message.objects.bulk_create([question, answer])  # one statement for both
        fields = ["updated_at", "active_leaf", *settings_changed]
        if not conversation.title:
            conversation.title = make_title(content)
            fields.append("title")
            titled = True
        # Not save(update_fields=): it reads the count of rows updated, which a pipeline
        # has not received yet. The row is locked above, so it is there.
        Conversation.objects.filter(pk=conversation.pk).update(**{f: getattr(conversation, f) for f in fields})
    return Opened(conversation, question, answer, conversation_created=created, titled=titled,
                  resettled=bool(settings_changed))


def answer_regenerate(*, user, conversation_id, model: str | None = None, message_id=None) -> Message:
    """Open a new answer beside the earlier ones (which stay) and show it.

    It answers `message_id`'s question (a question, or an answer whose question is meant);
    by default the last question of the shown branch. `model`: the id the answer records,
    by default the conversation's (UnknownModel when it is withdrawn). The answer comes back
    with its conversation (`answer.conversation`).
    """
    with transaction.atomic():
        _lock_user(user)
        conversation = _lock_conversation(conversation_id)
        if conversation is None:
            raise NothingToAnswer
        if conversation.owner_id != user.pk:
            raise NotOwner
        if message_id is None:
            question = _shown_tip(conversation)
        else:
            question = conversation.messages.filter(id=message_id).first()
            if question is None:
                raise NoSuchMessage
        if question is not None and question.role == Message.Role.ASSISTANT:
            question = question.parent
        if question is None:
            raise NothingToAnswer
        now = timezone.now()
        answer = _open_answer(conversation, question, model or choices.answer_model(conversation), now)
        conversation.updated_at, conversation.active_leaf = now, answer
        conversation.save(update_fields=["updated_at", "active_leaf"])
        return answer


def branch_show(*, user, conversation_id, message_id) -> Conversation:
    """Show the branch through `message_id`: it ends at the message's newest descendant
    (the newest child at each step). Raises NotOwner or NoSuchMessage."""
    with transaction.atomic():
        conversation = _lock_conversation(conversation_id)
        if conversation is None:
            raise NoSuchMessage
        if conversation.owner_id != user.pk:
            raise NotOwner
        leaf = tree.newest_leaf(conversation.messages.order_by("created_at", "id").values_list("id", "parent_id"),
                                message_id)
        if leaf is None:
            raise NoSuchMessage
        conversation.active_leaf_id = leaf
        conversation.save(update_fields=["active_leaf"])
        return conversation


def answer_note_context(*, answer: Message, omitted: int) -> None:
    """Record on an opening answer how many earlier messages its context left out."""
    answer.context_omitted = omitted
    if omitted:
        Message.objects.filter(id=answer.id).update(context_omitted=omitted)


def answers_save_partial(*, rows: list[tuple[str, str, str, int]]) -> None:
    """Persist the text so far of several streaming answers in one statement.

    rows: (answer id, content, reasoning, seq). Only rows still `streaming` are touched,
    so a save that lands after an answer's final save cannot undo it. One UPDATE ... FROM
    (VALUES ...) for all rows: not QuerySet.bulk_update, whose CASE expression over every
    row took most of the ORM thread's time at 60 answers, nor an UPDATE per row (executemany),
    which hands the interpreter lock back at each row's round trip (PostgreSQL's pipeline)
    or step (SQLite): on a busy process each hand-back waits for the loop, and a save of 60
    answers held the ORM thread, and every send queued behind it, for 15-280 ms.
    """
    now = timezone.now()
    meta, qn = Message._meta, connection.ops.quote_name
    table, column = qn(meta.db_table), (lambda name: qn(meta.get_field(name).column))
    fields = [meta.get_field(name) for name in ("id", "content", "reasoning", "seq")]
    # VALUES names its columns column1, column2, ... on both PostgreSQL and SQLite.
    assignments = ", ".join(f"{column(f.name)} = v.column{i}" for i, f in enumerate(fields[1:], start=2))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), PARTIAL_ROWS_PER_STATEMENT):
            chunk = rows[start:start + PARTIAL_ROWS_PER_STATEMENT]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {assignments}, {column('updated_at')} = %s FROM (VALUES {values}) AS v "
                f"WHERE {table}.{column('id')} = v.column1 AND {table}.{column('status')} = %s",
                [*_db_values([meta.get_field("updated_at")], [now]),
                 *(value for row in chunk for value in _db_values(fields, row)), Message.Status.STREAMING],
            )


def _db_values(fields: list, values) -> list:
    return [field.get_db_prep_save(value, connection) for field, value in zip(fields, values)]


def _update_returning(message_id, values: dict, *, streaming_only=False) -> Message | None:
    """UPDATE one message's `values` by id (only while it streams, if asked) and return it
    as stored, in one statement (RETURNING: PostgreSQL, and SQLite since 3.35); None when no
    row matched."""
    meta, qn = Message._meta, connection.ops.quote_name
    fields = [meta.get_field(name) for name in values]
    where = [meta.pk] + ([meta.get_field("status")] if streaming_only else [])
    sql = (f"UPDATE {qn(meta.db_table)} SET {', '.join(f'{qn(f.column)} = %s' for f in fields)} "
           f"WHERE {' AND '.join(f'{qn(f.column)} = %s' for f in where)} "
           f"RETURNING {', '.join(qn(f.column) for f in meta.concrete_fields)}")
    # (zip() in _db_values leaves the status out when the UPDATE does not ask for it)
    params = _db_values(fields + where, [*values.values(), message_id, Message.Status.STREAMING])
    return next(iter(Message.objects.raw(sql, params)), None)


def answer_finish(*, answer_id, status: str, content: str, reasoning: str, seq: int,
                  error: str | None = None, usage: Usage | None = None) -> Message | None:
    """Store an answer's final state and bump its conversation's activity (None if deleted)."""
    now = timezone.now()
    fields = dict(status=status, content=content, reasoning=reasoning, seq=seq, error=error,
                  updated_at=now)
    if usage is not None:
        fields.update(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens)
    # Two statements, no transaction (BEGIN and COMMIT are round trips too, and every round
    # trip of the ORM thread waits its turn under load): the row is updated and read back in
    # one, then the conversation's activity is bumped.
    answer = _update_returning(answer_id, fields)
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
    return _update_returning(answer_id, fields, streaming_only=True)


@dataclass
class NewMessage:
    """A message brought in from elsewhere (an import): `key` and `parent_key` are the
    source's ids, linking the tree; the rows get fresh ids."""

    key: str
    parent_key: str | None
    role: str  # Message.Role
    content: str
    created_at: object  # datetime
    reasoning: str = ""
    model: str | None = None
    status: str = Message.Status.COMPLETE
    error: str | None = None


@dataclass
class NewConversation:
    title: str
    created_at: object
    updated_at: object
    messages: list[NewMessage]  # parents before their children
    leaf_key: str | None = None  # the shown branch's end; default: the newest message


def conversations_create(*, owner, conversations: list[NewConversation]) -> list[Conversation]:
    """Store whole conversations (imports) in a few batched statements; atomic.

    A message whose parent key is unknown becomes a first message. Nothing is live: every
    message keeps the status it was given, and no answer starts.
    """
    with transaction.atomic():
        rows = [Conversation(owner=owner, title=c.title.strip()[:TITLE_MODEL_MAX] or "Imported chat",
                             created_at=c.created_at, updated_at=c.updated_at) for c in conversations]
        Conversation.objects.bulk_create(rows, batch_size=500)
        messages, leaves = [], []
        for row, conversation in zip(rows, conversations):
            made: dict[str, Message] = {}
            for new in conversation.messages:
                parent = made.get(new.parent_key)
                # Never older than its parent: the order by time is the tree's order.
                at = new.created_at if parent is None else max(new.created_at, parent.created_at + timedelta(microseconds=1))
                message = Message(
                    conversation=row, role=new.role, content=new.content, reasoning=new.reasoning,
                    model=(new.model or None) and new.model[:MODEL_MAX], status=new.status, error=new.error,
                    parent=parent, created_at=at, updated_at=at,
                )
                made[new.key] = message
                messages.append(message)
            leaf = made.get(conversation.leaf_key) or (messages[-1] if conversation.messages else None)
            if leaf is not None:
                row.active_leaf = leaf
                leaves.append(row)
        Message.objects.bulk_create(messages, batch_size=1000)
        Conversation.objects.bulk_update(leaves, ["active_leaf"], batch_size=500)
    return rows
