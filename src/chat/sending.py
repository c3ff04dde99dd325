"""A message.send, whatever carries it (WebSocket or SSE): store the question, start its answer.

The send is the action every answer of a chat starts with, and the one whose database hops
users wait for: it takes its limits and refusals from chat.actions.
"""
import asyncio
import contextlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass

from django.conf import settings

from accounts import sessions
from accounts.sessions import session_user_id
from llm import catalogue, tokens
from serving.connections import orm_call, others_wait

from . import choices, fanout, hooks, protocol, recall, selectors, services, titles
from .actions import (answering, busy, check_rate, end_unstarted, give_back_rate, shutting_down, still_running,
                      too_many_answers, unknown_model)
from .generation import Answer, accepting, launch, running_for
from .models import Message
from .protocol import ProtocolError

log = logging.getLogger(__name__)


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
_early: set[str] = set()  # ids of the answers of those sends


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


def _guess(*, user, conversation_id, look: selectors.SendLook, send: protocol.MessageSend,
           last: dict | None = None) -> Guess | None:
    """The guess from a look that found no answer streaming; None where the transaction
    would refuse or decide something the look cannot tell. `last`: the user's last choice
    if known (else it is read, for a new chat)."""
    conversation = look.conversation
    if conversation is None:  # a new chat, most likely: it holds no message yet
        if send.parent_given and send.parent_id is not None:
            return None  # a new conversation holds no answer to follow (refused under lock)
        last = last if last is not None else choices.last_choice(user=user)
        chosen, parent_id = dict(last), None
    else:
        last = None
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
    # The session check rides on the look's query where it can: one round trip for both.
    riding = sessions.riding(session_key, user.pk) if check_session and not known_empty else None
    if check_session and riding is None and session_user_id(session_key, expected=user.pk) != user.pk:
        raise SessionEnded
    try:
        look = selectors.SendLook(None, []) if known_empty else selectors.send_look(
            user=user, conversation_id=conversation_id, annotations=riding and riding.annotations)
    except services.NotOwner:
        if riding is not None and session_user_id(session_key, expected=user.pk) != user.pk:
            raise SessionEnded from None  # (checked first, as without the ride)
        raise
    if riding is not None and not (look.messages and riding.settles(look.messages[0])):
        if session_user_id(session_key, expected=user.pk) != user.pk:  # settled Django's way
            raise SessionEnded
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


GATE_WAIT = 0.01  # s the first hop may wait for the checks, when no other call waits for the thread


class _Gate:
    """A send's checks that run on the loop, run ahead beside its first hop (the rate
    limit's count, then chat.hooks'), in one task: they pass in the turn of the loop in
    which Redis answers, with no turn more for a task woken or a callback. The ORM thread
    goes on from the first hop into the transaction only if they have passed (`passed`),
    waiting for them at most GATE_WAIT, and only while no other call waits for it: they
    may need that very thread."""

    def __init__(self, user, send: protocol.MessageSend, event: str):
        loop = asyncio.get_running_loop()
        self.passed = threading.Event()
        self.counting = loop.create_future()  # the rate limit's count (as `counting` is elsewhere)
        self.checking = asyncio.ensure_future(self._check(user, send, event))
        self.checking.add_done_callback(_retrieved)

    async def _check(self, user, send: protocol.MessageSend, event: str) -> None:
        try:
            await check_rate(user, send.client_id, event=event)
        except BaseException as exc:
            self.counting.set_exception(exc)
            raise
        self.counting.set_result(None)
        await hooks.check_answer(user=user, client_id=send.client_id)
        self.passed.set()


def _look_then_store(*, gate: _Gate | None, answer_id, **looking):
    """The first hop (_before_send) and, when nothing is left for the loop to decide (no
    repeat, no answer marked streaming, a model on offer, the `gate` passed), the send's
    transaction right after it, on the same thread: a turn of the loop and a second wait
    for the ORM thread saved. Returns (the first hop's result, _store's or None)."""
    looked = _before_send(**looking)
    earlier, streaming, look, guess = looked
    if gate is None or earlier is not None or streaming:
        return looked, None
    if not gate.passed.is_set() and not others_wait():
        # Late by a Redis round trip, most often (a turn or two of a busy loop): a short
        # wait here costs nobody else's call, and saves this send its second hop.
        gate.passed.wait(GATE_WAIT)
    if not gate.passed.is_set():
        return looked, None
    send = looking["send"]
    try:
        choices.check_offered(send.settings)
    except catalogue.UnknownModel:
        return looked, None  # refused on the loop, as without the gate
    return looked, _store(user=looking["user"], conversation_id=looking["conversation_id"], send=send,
                          answer_id=answer_id, look=look, guess=guess)


def _store(**kwargs):
    """_open_send, its refusal returned rather than raised: ("stored", its result) or
    ("refused", the exception)."""
    try:
        return "stored", _open_send(**kwargs)
    except Exception as exc:
        return "refused", exc


async def _look(*, user, conversation_id, send: protocol.MessageSend, check_session: bool, session_key,
                known_empty: bool, gate: _Gate | None = None, answer_id=None):
    """The send's refusals that cost nothing: its first hop, and what follows from it (and,
    past a `gate`, maybe its transaction: _look_then_store). Returns (a repeat's Opened, or
    the look, whether answers were marked streaming (all of them ended) and the Guess;
    _store's result or None)."""
    (earlier, streaming, look, guess), stored = await orm_call(
        _look_then_store, gate=gate, answer_id=answer_id, check_session=check_session, session_key=session_key,
        user=user, conversation_id=conversation_id, send=send, known_empty=known_empty,
    )
    if earlier is not None:
        return _repeat(user, earlier), None
    if await still_running(user.pk, streaming):
        # The answer running may be this very send's, committed by another process since we
        # looked (a client sends again after a reconnect): a repeat then, not busy.
        if send.client_id is not None and (earlier := await orm_call(
                _earlier_send, conversation_id=conversation_id, client_id=send.client_id)) is not None:
            return _repeat(user, earlier), None
        raise busy(send.client_id)
    if stored is None:
        try:
            # Also builds the catalogue's providers: a misconfigured one fails before anything is stored.
            choices.check_offered(send.settings)
        except catalogue.UnknownModel as exc:
            raise unknown_model(exc, send.client_id) from None
    return (look, bool(streaming), guess), stored


async def _uncount(user, counting: asyncio.Future, event: str) -> None:
    """Uncount a message check_rate counted (or is counting) that was refused after all."""
    try:
        await counting
    except Exception:
        return  # refused by the limit itself, which counts nothing (or Redis is away)
    with contextlib.suppress(Exception):
        await give_back_rate(user, event)


async def _checks(user, send: protocol.MessageSend, counting: asyncio.Future) -> None:
    """The rate limit's count, then chat.hooks' checks."""
    await counting
    await hooks.check_answer(user=user, client_id=send.client_id)


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
    answer = Answer(answer=Message(id=uuid.uuid4(), conversation_id=conversation_id), owner_id=user.pk,
                    context=[], provider=None)
    # When this process knows what the conversation holds (chat.recall), the send most likely
    # goes through: its upstream request goes out before the first hop (the model's first
    # token then overlaps both), its checks and its answer's set-up run beside that hop, and
    # the transaction follows in the same hop. The first hop's guess must be the same, else
    # the request is closed unpublished. (A send that hop refuses, rare then, was counted by
    # chat.hooks' checks: a quota.)
    recalled = _recalled_guess(user, conversation_id, send, known_empty)
    gate = preparing = None
    if recalled is not None:
        gate = _Gate(user, send, event)
        counting = gate.counting
    else:
        counting = asyncio.ensure_future(check_rate(user, send.client_id, event=event))
    counting.add_done_callback(lambda done: _note_refusal(user.pk, done))
    asked = _ask_early(answer, recalled)
    if recalled is not None:
        preparing = asyncio.ensure_future(answer.prepare())
    try:
        try:
            looked, stored = await _look(
                user=user, conversation_id=conversation_id, send=send, check_session=check_session,
                session_key=session_key, known_empty=known_empty, gate=gate, answer_id=answer.id)
        except BaseException:
            await _undo(answer, preparing)
            await _uncount(user, counting, event)
            raise
        if isinstance(looked, services.Opened):  # a repeat
            await _undo(answer, preparing)
            await _uncount(user, counting, event)
            return looked
        look, streaming, guess = looked
        if guess is not None and guess.last is not None:
            recall.chose(user.pk, guess.last)
        if asked is not None and asked != guess:
            await answer.unask()  # the conversation changed elsewhere since this process saw it
            asked = None
        if stored is None:
            try:
                await (gate.checking if gate is not None else _checks(user, send, counting))
            except BaseException:
                await _undo(answer, preparing)
                raise
            # The answer's live state and stop listener are set up (in a task of their own)
            # while the send is stored: each waits its turn on a busy process (Redis; the ORM
            # thread), so not one after the other. A refused or repeated send undoes them.
            # (Not asyncio.gather: on a saturated loop its extra turns cost milliseconds.)
            preparing = preparing or asyncio.ensure_future(answer.prepare())
            asked = asked or _ask_early(answer, guess)
            try:
                stored = await orm_call(
                    _store, user=user, conversation_id=conversation_id, send=send, answer_id=answer.id,
                    look=None if streaming else look, guess=guess)  # (answers repaired since the look: its text is older)
            except BaseException:
                await _undo(answer, preparing)
                raise
    finally:
        _end_early(answer)
    return await _start(answer, preparing, stored, user=user, conversation_id=conversation_id, send=send,
                        look=None if streaming else look, guess=guess, asked=asked)


def _retrieved(future: asyncio.Future) -> None:
    """(A refusal of checks run ahead is raised where they are awaited, if they are.)"""
    if not future.cancelled():
        future.exception()


async def _undo(answer: Answer, preparing: asyncio.Future | None) -> None:
    """Undo what was started for a send that stores nothing."""
    await answer.unask()
    if preparing is not None:
        await _unprepare(answer, preparing)


async def _start(answer: Answer, preparing: asyncio.Future, stored: tuple, *, user, conversation_id,
                 send: protocol.MessageSend, look: selectors.SendLook | None, guess: Guess | None,
                 asked: Guess | None) -> services.Opened:
    """Announce and start the answer the send's transaction (_store) opened, or tell of its
    refusal. `asked`: the guess its upstream request went out on, if it did."""
    kind, result = stored
    if kind == "refused":
        await _undo(answer, preparing)
        raise _send_refused(result, send.client_id)  # (anything it does not name, as it came)
    opened, context, guessed = result
    if opened.duplicate:
        await _undo(answer, preparing)
        return opened
    _remember(user, opened, look=look, guessed=guessed, settings_sent=bool(send.settings))
    if not guessed or asked != guess:
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


# Questions longer than this are not asked on what this process remembers: the guess would
# count their tokens on the loop (the first hop counts them on the ORM thread).
RECALLED_QUESTION_CHARS = 16_000
# A user the rate limit refused lately gets no request before the first hop: each refused
# send would otherwise open one to be closed.
RECALL_AFTER_REFUSAL = 60.0
_refused_at: dict = {}


def _recalled_guess(user, conversation_id, send: protocol.MessageSend, known_empty: bool) -> Guess | None:
    """The Guess from what this process remembers of the conversation (chat.recall); None
    when it remembers nothing usable. Before the first hop, so before the session is
    checked: a send that hop refuses closes the request unpublished."""
    if len(send.content) > RECALLED_QUESTION_CHARS:
        return None
    refused = _refused_at.get(user.pk)
    if refused is not None and time.monotonic() - refused < RECALL_AFTER_REFUSAL:
        return None
    last = None
    if known_empty:
        last = recall.last_choice(user.pk)
        if last is None:
            return None
        seen = selectors.SendLook(None, [])
    else:
        seen = recall.look(user.pk, conversation_id)
        if seen is None or any(m.status == Message.Status.STREAMING for m in seen.messages):
            return None
    if send.client_id is not None and any(m.client_id == send.client_id for m in seen.messages):
        return None  # a repeat, most likely
    try:
        return _guess(user=user, conversation_id=conversation_id, look=seen, send=send, last=last)
    except Exception:  # (a guess is never worth a refusal: the first hop decides)
        log.exception("a send could not be guessed from memory")
        return None


def _note_refusal(user_id, counted: asyncio.Future) -> None:
    if not counted.cancelled() and isinstance(counted.exception(), ProtocolError):
        _refused_at[user_id] = time.monotonic()
        if len(_refused_at) > recall.MAX_CONVERSATIONS:
            _refused_at.clear()


def _ask_early(answer: Answer, guess: Guess | None) -> Guess | None:
    """Start `answer`'s upstream request on `guess` before it is stored; the guess it went
    out on, or None: no guess, or EARLY_ASKS sends wait for their transaction already, or
    the user's answers here fill their cap (the transaction would refuse it, and a request
    is not started to be closed; answers of other processes count only there: at worst one
    request is closed)."""
    if (guess is None or answer.upstream is not None or len(_early) >= EARLY_ASKS
            or running_for(answer.owner_id) >= settings.CHAT_MAX_ANSWERS_PER_USER):
        return None
    _early.add(answer.id)
    _ask_with(answer, guess.context, guess.model, guess.temperature)
    answer.ask_early()
    return guess


def _end_early(answer: Answer) -> None:
    """The send asked early no longer waits for its transaction (EARLY_ASKS)."""
    _early.discard(answer.id)


def _remember(user, opened: services.Opened, *, look: selectors.SendLook | None, guessed: bool,
              settings_sent: bool) -> None:
    """Keep what the send stored for the next send's guess (chat.recall)."""
    if settings_sent:
        recall.chose(user.pk, None)  # the user's last choice follows the settings sent
    if opened.conversation_created:
        recall.sent(user.pk, opened.conversation, [], opened.user_message, opened.answer)
    elif guessed and look is not None and look.conversation is not None:
        recall.sent(user.pk, opened.conversation, look.messages, opened.user_message, opened.answer)
    else:
        recall.forget(user.pk, opened.conversation.id)


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
