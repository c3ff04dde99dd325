"""A message.send, whatever carries it (WebSocket or SSE): store the question, start its answer.

The send is the action every answer of a chat starts with, and the one whose database hops
users wait for: it takes its limits and refusals from chat.actions.
"""
import asyncio
import contextlib
import uuid
from dataclasses import dataclass

from django.conf import settings

from accounts.sessions import session_user_id
from llm import catalogue, tokens
from serving.connections import orm_call

from . import choices, fanout, hooks, protocol, selectors, services, titles
from .actions import (answering, busy, check_rate, end_unstarted, give_back_rate, shutting_down, still_running,
                      too_many_answers, unknown_model)
from .generation import Answer, accepting, launch, running_for
from .models import Message
from .protocol import ProtocolError


def _refuse_beyond_context(send: protocol.MessageSend) -> None:
    """A question that cannot fit the model's window beside the system prompt is refused.
    (The prompt counted is the operator's and the one this send sets, if any.)"""
    system = choices.system_prompt(send.settings.get("system_prompt", ""))
    prompt = [("system", system)] if system else []
    needed, budget = tokens.needed([*prompt, ("user", send.content)]), selectors.context_budget()
    if needed > budget:
        raise ProtocolError(
            protocol.TOO_LONG, f"The message is about {needed} tokens with the system prompt; "
            f"the model takes at most {budget} besides its answer.", client_id=send.client_id,
        )


# Sends asked early (Guess) whose transaction has not ended yet, in this process. Beyond
# EARLY_ASKS of them the ORM thread is the bottleneck (at L3 on one process dozens wait
# for it): a request asked early then only adds work to the loop it competes with, and
# made the first delta p50 about 400 ms worse there (2026-12-07), so later sends ask when
# their answer runs.
EARLY_ASKS = 4
_asked_early = 0


class SessionEnded(Exception):
    """The socket's session was logged out or expired since it connected."""


@dataclass(frozen=True)
class Guess:
    """How a send's answer will be asked, worked out in the first hop from what it looked
    at, so the upstream request starts while the send is stored: the model's first token
    (under load, also the transaction's waits on the ORM thread and the database) then
    overlap. The transaction settles the same facts under the user's lock; its answer runs
    on the guess only when they agree (holds), else the request starts again."""

    parent_id: uuid.UUID | None  # the question's
    model: str  # the catalogue id the answer records
    system_prompt: str  # as sent: the operator's and the conversation's
    temperature: float | None
    context: list[tuple[str, str]]
    omitted: int
    last: dict | None  # a new chat's: the user's last choice, read for the guess (chat.choices)

    def holds(self, opened: services.Opened) -> bool:
        conversation = opened.conversation
        return (str(opened.user_message.parent_id) == str(self.parent_id) and opened.answer.model == self.model
                and choices.system_prompt(conversation.system_prompt) == self.system_prompt
                and conversation.temperature == self.temperature)


def _guess(*, user, conversation_id, look: selectors.SendLook, send: protocol.MessageSend) -> Guess | None:
    """The guess from a look that found no answer streaming; None where the transaction
    would refuse or decide something the look cannot tell."""
    conversation, last = look.conversation, None
    if conversation is None:  # a new chat, most likely: it holds no message yet
        if send.parent_given and send.parent_id is not None:
            return None  # a new conversation holds no answer to follow (refused under lock)
        last = choices.last_choice(user=user)
        chosen, parent_id = dict(last), None
    else:
        chosen = {name: getattr(conversation, name) for name in choices.FIELDS}
        if send.parent_given:
            parent_id = send.parent_id
        elif conversation.active_leaf_id is None and look.messages:
            return None  # rows from before the tree: the transaction finds the shown branch's end
        else:
            parent_id = conversation.active_leaf_id
        if parent_id is not None and not any(
                m.id == parent_id and m.role == Message.Role.ASSISTANT for m in look.messages):
            return None
    chosen.update(send.settings)
    try:
        model = catalogue.resolve(chosen["model"]).id
    except catalogue.UnknownModel:
        return None
    system = choices.system_prompt(chosen["system_prompt"])
    context = selectors.answer_context(
        conversation_id=conversation_id, system_prompt=system, earlier=look.messages,
        question=Message(role=Message.Role.USER, content=send.content, parent_id=parent_id),
    )
    return Guess(parent_id, model, system, chosen["temperature"], context.messages, context.omitted, last)


def _before_send(*, check_session: bool, session_key, user, conversation_id, send: protocol.MessageSend,
                 known_empty: bool = False):
    """A send's first database hop (under load each hop waits its turn on the one ORM thread):
    is the session still logged in, does the question fit, and what the conversation holds
    (not read when the caller knows it holds no message: `known_empty`).

    Returns (the earlier message of a repeated client_id or None, the answers marked
    streaming, the look, the Guess or None).
    """
    if check_session and session_user_id(session_key, expected=user.pk) != user.pk:
        raise SessionEnded
    look = selectors.SendLook(None, []) if known_empty else selectors.send_look(user=user,
                                                                                conversation_id=conversation_id)
    if send.client_id is not None and any(m.client_id == send.client_id for m in look.messages):
        # Read whole: the look's rows leave out their reasoning, which the echoed frame carries.
        return _earlier_send(conversation_id=conversation_id, client_id=send.client_id), [], look, None
    _refuse_beyond_context(send)
    streaming = [m for m in look.messages if m.status == Message.Status.STREAMING]
    guess = None if streaming else _guess(user=user, conversation_id=conversation_id, look=look, send=send)
    return None, streaming, look, guess


def _open_send(*, user, conversation_id, send: protocol.MessageSend, answer_id=None,
               look: selectors.SendLook | None = None, guess: Guess | None = None):
    """The send's transaction, then its answer's context (the question was measured in the
    first hop). `look`: the first hop's, whose messages are the earlier ones (None: they
    are read again). Returns (Opened, the context or None for a repeat, whether it is the
    `guess`'s)."""
    opened = services.message_send(
        user=user, conversation_id=conversation_id, content=send.content,
        client_id=send.client_id, chosen=send.settings,
        parent_id=send.parent_id if send.parent_given else services.SHOWN_BRANCH, answer_id=answer_id,
        seen_new=look is not None and look.conversation is None, last=guess.last if guess else None,
    )
    if opened.duplicate:
        return opened, None, False
    if guess is not None and guess.holds(opened):
        services.answer_note_context(answer=opened.answer, omitted=guess.omitted)
        return opened, guess.context, True
    earlier = None
    if opened.conversation_created:
        earlier = []  # it holds only the question
    elif look is not None and (opened.user_message.parent_id is None
                               or any(m.id == opened.user_message.parent_id for m in look.messages)):
        earlier = look.messages  # (a question after a message stored since the look reads them again)
    context = selectors.answer_context(
        conversation_id=conversation_id, question=opened.user_message,
        system_prompt=choices.system_prompt(opened.conversation.system_prompt), earlier=earlier,
    )
    services.answer_note_context(answer=opened.answer, omitted=context.omitted)
    return opened, context.messages, False


def _earlier_send(*, conversation_id, client_id):
    """The message this conversation stored with this client_id, if any."""
    return (Message.objects.select_related("conversation")
            .filter(conversation_id=conversation_id, client_id=client_id).first())


def _repeat(user, earlier: Message) -> services.Opened:
    """A repeated client_id: the message stored with it, as a duplicate Opened."""
    if earlier.conversation.owner_id != user.pk:
        raise services.NotOwner
    return services.Opened(earlier.conversation, earlier, None)


async def _look(*, user, conversation_id, send: protocol.MessageSend, check_session: bool, session_key,
                known_empty: bool) -> services.Opened | tuple[selectors.SendLook, bool, Guess | None]:
    """The send's refusals that cost nothing: its first hop, and what follows from it. A
    repeat comes back as its Opened; else the look, whether answers were marked streaming
    (all of them ended), and the Guess."""
    earlier, streaming, look, guess = await orm_call(
        _before_send, check_session=check_session, session_key=session_key, user=user, conversation_id=conversation_id,
        send=send, known_empty=known_empty,
    )
    if earlier is not None:
        return _repeat(user, earlier)
    if await still_running(user.pk, streaming):
        # The answer running may be this very send's, committed by another process since we
        # looked (a client sends again after a reconnect): a repeat then, not busy.
        if send.client_id is not None and (earlier := await orm_call(
                _earlier_send, conversation_id=conversation_id, client_id=send.client_id)) is not None:
            return _repeat(user, earlier)
        raise busy(send.client_id)
    try:
        # Also builds the catalogue's providers: a misconfigured one fails before anything is stored.
        choices.check_offered(send.settings)
    except catalogue.UnknownModel as exc:
        raise unknown_model(exc, send.client_id) from None
    return look, bool(streaming), guess


async def _uncount(user, counting: asyncio.Future, event: str) -> None:
    """Uncount a message check_rate counted (or is counting) that was refused after all."""
    try:
        await counting
    except Exception:
        return  # refused by the limit itself, which counts nothing (or Redis is away)
    with contextlib.suppress(Exception):
        await give_back_rate(user, event)


async def send_message(*, user, conversation_id, send: protocol.MessageSend,
                       check_session: bool = False, session_key: str | None = None,
                       known_empty: bool = False) -> services.Opened:
    """Store the user's message and start its answer; frames go to every listener.

    A repeated client_id stores nothing and starts nothing: the earlier message comes
    back as a duplicate Opened (answer None). A socket asks to `check_session` (its
    `session_key` may have been logged out since it connected: SessionEnded); a request
    was authenticated just now. A caller that knows the conversation holds no message
    (`known_empty`: a socket whose snapshot showed none, with no frame since) saves a read.
    Raises ProtocolError, SessionEnded or services.NotOwner.
    """
    if not accepting():
        raise shutting_down(send.client_id)
    # The rate limit counts this message while the first hop reads (on a busy process each
    # waits its turn, so not one after the other); a refusal that costs nothing, below,
    # uncounts it.
    event = uuid.uuid4().hex
    counting = asyncio.ensure_future(check_rate(user, send.client_id, event=event))
    try:
        looked = await _look(user=user, conversation_id=conversation_id, send=send, check_session=check_session,
                             session_key=session_key, known_empty=known_empty)
    except BaseException:
        await _uncount(user, counting, event)
        raise
    if isinstance(looked, services.Opened):  # a repeat
        await _uncount(user, counting, event)
        return looked
    look, streaming, guess = looked
    await counting
    await hooks.check_answer(user=user, client_id=send.client_id)
    # The answer's live state and stop listener are set up (in a task of their own) while the
    # send is stored: each waits its turn on a busy process (Redis; the ORM thread), so not
    # one after the other. A refused or repeated send undoes them. (Not asyncio.gather: on a
    # saturated loop each of its extra turns, before and after, costs milliseconds.)
    answer = Answer(answer=Message(id=uuid.uuid4(), conversation_id=conversation_id), owner_id=user.pk,
                    context=[], provider=None)
    preparing = asyncio.ensure_future(answer.prepare())
    # The upstream request too, on the first hop's Guess; not while the user's answers here
    # fill their cap: the transaction would refuse it, and a request is not started to be
    # closed. (Answers of other processes count only there: at worst one request is closed.)
    # Nor while EARLY_ASKS sends wait for their transaction.
    global _asked_early
    early = (guess is not None and _asked_early < EARLY_ASKS
             and running_for(user.pk) < settings.CHAT_MAX_ANSWERS_PER_USER)
    try:
        if early:
            _asked_early += 1
            _ask_with(answer, guess.context, guess.model, guess.temperature)
            answer.ask_early()
        opened, context, guessed = await orm_call(
            _open_send, user=user, conversation_id=conversation_id, send=send, answer_id=answer.id,
            look=None if streaming else look, guess=guess)  # (answers repaired since the look: its text is older)
    except BaseException as exc:
        await answer.unask()
        await _unprepare(answer, preparing)
        raise _send_refused(exc, send.client_id)  # (anything it does not name, as it came)
    finally:
        if early:
            _asked_early -= 1
    if opened.duplicate:
        await answer.unask()
        await _unprepare(answer, preparing)
        return opened
    if not guessed:
        await answer.unask()  # stored otherwise than guessed (a race): asked again when it runs
    try:
        await preparing
    except Exception:
        await answer.unask()
        await end_unstarted(answer)
        raise
    try:
        _ask_with(answer, context, opened.answer.model, opened.conversation.temperature)
        frames = [protocol.message_created_frame(opened.user_message), protocol.message_created_frame(opened.answer)]
        if opened.conversation_created or opened.titled or opened.resettled:
            frames.insert(0, protocol.conversation_updated_frame(opened.conversation))
        published = fanout.publish(user.pk, conversation_id, *frames)  # in line before the answer's frames
    except BaseException:
        # A prepared answer gets beats (generation.Answer.prepare), so no reaper would end it.
        await answer.unask()
        await end_unstarted(answer, "The answer could not be started because of a server error.")
        await answer.unprepare()
        raise
    await launch(answer)
    await published
    if opened.conversation_created and settings.CHAT_TITLES_BY_MODEL:  # the first answer: its model titles the chat
        titles.title_after(answer, question=send.content)
    return opened


def _ask_with(answer: Answer, context: list[tuple[str, str]], model: str, temperature: float | None) -> None:
    """Set what `answer` asks upstream: its context, its model's provider and temperature."""
    asking = answering(model, temperature)
    answer.context, answer.provider, answer.temperature = context, asking["provider"], asking["temperature"]


def no_such_parent(client_id: str | None = None) -> ProtocolError:
    return ProtocolError(protocol.BAD_REQUEST, "\"parent_id\" is not an answer in this conversation.",
                         client_id=client_id)


def _send_refused(exc: BaseException, client_id: str | None) -> BaseException:
    """What a client is told of a send that storing refused."""
    if isinstance(exc, services.Busy):  # lost a race with another send
        return busy(client_id)
    if isinstance(exc, services.TooManyAnswers):
        return too_many_answers(client_id)
    if isinstance(exc, services.NoSuchMessage):
        return no_such_parent(client_id)
    if isinstance(exc, catalogue.UnknownModel):  # the conversation keeps a withdrawn model
        return unknown_model(exc, client_id)
    return exc


async def _unprepare(answer: Answer, preparing: asyncio.Future) -> None:
    """Undo a prepare() under way for an answer that will not run, once it has ended."""
    try:
        await preparing
    except Exception:
        return  # it undid itself
    await answer.unprepare()
