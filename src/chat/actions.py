"""What a client can ask for, whatever carries it (WebSocket or SSE): one code path.

Each action validates limits, calls services/selectors in as few database hops as
possible, publishes the resulting frames to the conversation's group and starts or
stops answers. Refusals are raised as protocol.ProtocolError.
"""
import logging
import math
import re

from channels.db import database_sync_to_async
from django.conf import settings

from llm import catalogue
from serving.connections import orm_call

from . import choices, fanout, hooks, protocol, recall, recovery, selectors, services
from .generation import Answer, accepting, launch, running_here
from .models import Message
from .protocol import ProtocolError
from .state import get_store, is_stale

log = logging.getLogger(__name__)

_WINDOWS = {"s": 1, "m": 60, "h": 3600}


def parse_rate(text: str) -> tuple[int, int]:
    """`N/s`, `N/m` or `N/h` -> (N, window seconds)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*([smh])\s*", text or "")
    if not match:
        raise ValueError(f"CHAT_RATE_LIMIT must look like 20/m, not {text!r}")
    return int(match[1]), _WINDOWS[match[2]]


async def check_rate(user, client_id: str | None = None, *, event: str | None = None) -> None:
    """Count one message for `user`; refuse it past CHAT_RATE_LIMIT (a sliding window:
    never more than N in any window-length interval, across processes). A message counted
    as `event` can be uncounted (give_back_rate)."""
    limit, window = parse_rate(settings.CHAT_RATE_LIMIT)
    wait = await get_store().hit(_rate_key(user), limit, window, event=event)
    if wait is not None:
        retry_after = max(0.1, math.ceil(wait * 10) / 10)
        raise ProtocolError(
            protocol.RATE_LIMITED,
            f"Too many messages: the limit is {settings.CHAT_RATE_LIMIT}. Try again in {retry_after:g} s.",
            client_id=client_id, retry_after=retry_after,
        )


async def give_back_rate(user, event: str) -> None:
    """Uncount the message check_rate counted as `event`: it was refused after all."""
    await get_store().give_back(_rate_key(user), event)


def _rate_key(user) -> str:
    return f"user:{user.pk}"


# --- snapshots and orphans -----------------------------------------------------------------
async def repair_orphans(owner_id, conversation_id) -> list[Message]:
    """Mark answers whose process died `interrupted`, keeping the longest text known.

    Returns the answers of the owner's conversation that are really still running
    (none when the conversation is another user's).
    """
    answers = await database_sync_to_async(selectors.streaming_answers)(
        owner_id=owner_id, conversation_id=conversation_id
    )
    return await still_running(owner_id, answers)


def _gone(answer: Message, live) -> bool:
    """Whether an answer marked streaming has no task any more: its beat is stale, it does
    not run here (this process's own answers are alive, however late their beats), and it
    is not starting on another process (recovery.starting)."""
    return is_stale(live) and not running_here(answer.id) and not recovery.starting(answer, live)


async def still_running(owner_id, answers: list[Message]) -> list[Message]:
    """Those of the `streaming` rows whose task is alive; the others become `interrupted`."""
    store = get_store()
    running = []
    for answer in answers:
        live = await store.get(str(answer.id))
        if _gone(answer, live):
            await recovery.interrupt(answer, owner_id, live)
        else:
            running.append(answer)
    return running


BUSY_MESSAGE = "An answer is already being written in this conversation; stop it or wait."


def busy(client_id: str | None = None) -> ProtocolError:
    return ProtocolError(protocol.BUSY, BUSY_MESSAGE, client_id=client_id)


async def snapshot(owner_id, conversation_id) -> dict:
    """A `conversation.snapshot` frame whose streaming answers line up with live deltas.

    The caller must already listen to the owner's group of the conversation (see
    state.py). Raises services.NotOwner when the conversation is another user's.
    One database read in the common case: orphans are looked for among the messages read.
    """
    store = get_store()

    async def read():
        conversation, messages = await orm_call(
            selectors.conversation_with_messages, owner_id=owner_id, conversation_id=conversation_id
        )
        lives = {m: await store.get(str(m.id)) for m in messages if m.status == Message.Status.STREAMING}
        return conversation, messages, lives

    conversation, messages, lives = await read()
    if any(_gone(answer, live) for answer, live in lives.items()):  # a process died (rare): repair, read again
        await repair_orphans(owner_id, conversation_id)
        conversation, messages, lives = await read()
    for index, message in enumerate(messages):
        if message.status != Message.Status.STREAMING:
            continue
        live = lives[message]
        if live is not None and live.seq >= message.seq:
            message.content, message.reasoning, message.seq = live.content, live.reasoning, live.seq
        elif live is None:
            # Finished between our two reads: its final row is in the database now.
            messages[index] = await Message.objects.aget(id=message.id)
    return protocol.snapshot_frame(conversation, messages)


def shutting_down(client_id: str | None = None) -> ProtocolError:
    """This process is draining (SIGTERM): it starts no new answer; another process will."""
    return ProtocolError(protocol.UNAVAILABLE, "This server is restarting; send the message again in a moment.",
                         client_id=client_id, retry_after=1)


def too_many_answers(client_id: str | None = None) -> ProtocolError:
    limit = settings.CHAT_MAX_ANSWERS_PER_USER
    return ProtocolError(
        protocol.TOO_MANY_ANSWERS,
        f"You already have {limit} answer{'s' if limit != 1 else ''} being written; "
        "wait for one to finish or stop it.",
        client_id=client_id,
    )


# --- regenerating, branches, stopping (sending: chat.sending) ----------------------------------
def unknown_model(exc: catalogue.UnknownModel, client_id: str | None = None) -> ProtocolError:
    return ProtocolError(protocol.UNKNOWN_MODEL, str(exc), client_id=client_id)


def answering(model: str, temperature: float | None) -> dict:
    """How an answer is asked for: its model's provider (one per model, reused:
    llm.registry) and the conversation's temperature, passed per request."""
    return {"provider": catalogue.provider(catalogue.resolve(model)), "temperature": temperature}


def no_such_message() -> ProtocolError:
    return ProtocolError(protocol.BAD_REQUEST, "\"message_id\" is no message of this conversation.")


def _open_regenerate(*, user, conversation_id, message_id=None):
    answer = services.answer_regenerate(user=user, conversation_id=conversation_id, message_id=message_id)
    context = selectors.answer_context(
        conversation_id=conversation_id, question=answer.parent,
        system_prompt=choices.system_prompt(answer.conversation.system_prompt),
    )
    services.answer_note_context(answer=answer, omitted=context.omitted)
    return answer, context.messages


async def regenerate(*, user, conversation_id, message_id=None) -> Message:
    """Answer a question again (by default the shown branch's last); earlier answers stay,
    the new one is shown."""
    if not accepting():
        raise shutting_down()
    if await repair_orphans(user.pk, conversation_id):
        raise busy()
    await check_rate(user)
    await hooks.check_answer(user=user)
    catalogue.catalogue()  # builds the providers: a misconfigured one fails before anything is stored
    try:
        answer_row, context = await database_sync_to_async(_open_regenerate)(
            user=user, conversation_id=conversation_id, message_id=message_id
        )
    except services.Busy:
        raise busy() from None
    except services.TooManyAnswers:
        raise too_many_answers() from None
    except services.NothingToAnswer:
        raise ProtocolError(protocol.BAD_REQUEST, "There is no message to answer again yet.") from None
    except services.NoSuchMessage:
        raise no_such_message() from None
    except catalogue.UnknownModel as exc:
        raise unknown_model(exc) from None
    recall.forget(user.pk, conversation_id)  # a send's guess would follow the branch shown before
    answer = Answer(answer=answer_row, owner_id=user.pk, context=context,
                    **answering(answer_row.model, answer_row.conversation.temperature))
    await _prepare(answer)
    published = fanout.publish(user.pk, conversation_id, protocol.message_created_frame(answer_row))
    await launch(answer)
    await published
    return answer_row


async def switch_branch(*, user, conversation_id, message_id):
    """Show the branch through `message_id` in every tab: conversation.updated carries
    the branch's new end. Raises ProtocolError or services.NotOwner."""
    try:
        conversation = await database_sync_to_async(services.branch_show)(
            user=user, conversation_id=conversation_id, message_id=message_id
        )
    except services.NoSuchMessage:
        raise no_such_message() from None
    recall.forget(user.pk, conversation_id)
    await fanout.publish(user.pk, conversation_id, protocol.conversation_updated_frame(conversation))
    return conversation


async def _prepare(answer: Answer) -> None:
    """Register the answer's live state; if that fails (Redis away), end its row at once
    and let the caller report the error."""
    try:
        await answer.prepare()
    except Exception:
        await end_unstarted(answer)
        raise


async def end_unstarted(answer: Answer,
                        error: str = "The answer could not be started: the server's live state is unavailable.") -> None:
    """End the row of an answer that will not run (by default: its live state could not be
    registered), instead of leaving it `streaming` for the reaper."""
    await database_sync_to_async(services.answer_finish)(
        answer_id=answer.id, status=Message.Status.ERROR, content="", reasoning="", seq=0, error=error,
    )


async def stop(*, user, conversation_id) -> None:
    """Stop the running answer of the user's conversation, wherever it runs; keep its text.

    Another user's conversation of the same id is out of reach: the stop goes to this
    user's stop group, which only this user's answers join.
    """
    # The request first: repairing orphans is a database round trip a stop need not wait for.
    await fanout.request_stop(user.pk, conversation_id)
    await repair_orphans(user.pk, conversation_id)
