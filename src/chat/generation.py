"""One answer's life: stream upstream, coalesce, fan out, persist, stop, resume.

An answer runs in its own asyncio task, independent of any socket. Tokens are folded
into a pending buffer and published as `message.delta` frames at most every
CHAT_FRAME_INTERVAL seconds (the first token after a quiet spell goes at once), each
frame first recorded in the live state store (chat.state) so that snapshots line up
with deltas. The partial text is saved to the database at most every CHAT_SAVE_INTERVAL,
for all answers of the process in one statement (chat.partials).
A stop request reaches the task through fanout (Redis pub/sub) from any process.
"""
import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass

from django.conf import settings

from llm import Chunk, Provider, UpstreamError, Usage, tokens
from serving.connections import orm_call

from . import beats, fanout, partials, protocol, recall, services, signals
from .models import Message
from .state import get_store
from .tasks import detached

log = logging.getLogger(__name__)

# Answers running here, by id, each with its task (answer.task): kept referenced (asyncio
# holds only weak references), awaitable, and reachable by interrupt_all().
_running: dict[str, "Answer"] = {}
# False once this process is shutting down (serving.drain): actions refuse new answers.
_accepting = True


@dataclass
class Segment:
    """Consecutive tokens of one part, bound for one delta frame."""

    part: str
    pieces: list[str]


class Answer:
    def __init__(self, *, answer: Message, owner_id, context: list[tuple[str, str]], provider: Provider,
                 temperature: float | None = None):
        self.id = str(answer.id)
        self.owner_id = owner_id  # frames go to the owner's group only (see fanout)
        self.conversation_id = str(answer.conversation_id)
        self.context = context
        self.provider = provider
        self.temperature = temperature  # the conversation's; None: the model's default
        self.text = {"content": [], "reasoning": []}
        self.seq = 0
        self.pending: list[Segment] = []  # not yet published
        self.sending: asyncio.Future | None = None  # the last frames queued for Redis (fanout)
        self.starting: asyncio.Future | None = None  # its live state's start, queued for Redis
        self.flushed_at: float | None = None  # (loop time) by flush_early(), before its publisher ran
        self.wake = asyncio.Event()
        self.upstream_done = False
        self.usage: Usage | None = None
        self.status = Message.Status.COMPLETE
        self.error: str | None = None
        self.error_kind: str | None = None  # UpstreamError.kind, or "server" (signals.answer_ended)
        self.started_at = time.perf_counter()  # reset by launch()
        self.saved_seq = 0  # seq of the text the partial saver last sent (chat.partials)
        self.stop_group: str | None = None  # joined in prepare() (fanout)
        self.stopped = asyncio.Event()  # set by a stop request (fanout), from any process
        self.live_lost = False  # the live state or fan-out failed (Redis away) at least once
        self.interrupted = False  # ended by interrupt(): the process is shutting down
        self.task: asyncio.Task | None = None  # set by launch()
        self.upstream: asyncio.Task | None = None  # the upstream read: by ask_early() or run()
        # Measurement hooks (bench/): when each token arrived, when each frame went out.
        self.token_times: list[float] = []
        self.frame_log: list[tuple[float, int]] = []  # (time, tokens in frame)

    # --- set-up -------------------------------------------------------------------
    async def prepare(self) -> None:
        """Register live state and listen for stops before anyone can see the answer.

        Idempotent: actions prepare before announcing the answer, launch() makes sure.
        """
        if self.stop_group is not None:
            return
        group = fanout.stop_group(self.owner_id, self.conversation_id)
        # Beaten from the start (a beat finds nothing before fanout.start_live): its first beat
        # ages from fanout.start_live on, and on a saturated process the stop listener (the first
        # answer of a process waits for its stop groups' PSUBSCRIBE, confirmed behind every
        # message the subscriber has yet to read) and then the send's transaction may each
        # wait longer than CHAT_STALE_AFTER before the answer runs: a
        # reaper (this process's own too, since it does not run here yet) would take it for
        # an answer of a dead process.
        beats.beater().track(self)
        try:
            started = fanout.start_live(self.id)
            if asyncio.isfuture(started):
                # With Redis the start is queued in line before any frame of the answer, so it
                # is not waited for: its script call's reply was the last of a send's waits at
                # L2 (8 ms p50 after the transaction, 2026-12-07). Its failure is like any later
                # one of the live state: the answer goes on, its text reaches the database.
                started.add_done_callback(self._sent)
                self.starting = started
            else:
                await started  # (in memory)
            await fanout.subscribe(group, self._on_stop)
        except BaseException:
            beats.beater().forget(self)
            with contextlib.suppress(Exception):
                await fanout.unsubscribe(group, self._on_stop)
            raise
        self.stop_group = group

    async def unprepare(self) -> None:
        """Undo prepare() for an answer that will not run (its send was refused)."""
        if self.stop_group is None:
            return
        group, self.stop_group = self.stop_group, None
        beats.beater().forget(self)
        with contextlib.suppress(Exception):
            await fanout.unsubscribe(group, self._on_stop)
        with contextlib.suppress(Exception):
            await self._drop_live()

    async def _drop_live(self) -> None:
        """Drop its live state, once its start went out (a drop before it would be undone)."""
        if self.starting is not None:
            with contextlib.suppress(Exception):  # (a failed start was logged: _sent)
                await self.starting
        await get_store().drop(self.id)

    def ask_early(self) -> None:
        """Start the upstream request before the answer is stored (chat.sending): the model's
        first token and the send's transaction overlap. Tokens wait in `pending`, unpublished,
        until run() (after the answer was announced); unask() forgets them if it never runs."""
        self.started_at = time.perf_counter()
        self.upstream = asyncio.create_task(self._read_upstream())

    async def unask(self) -> None:
        """Close an early upstream request whose answer will not run, or was asked otherwise
        after all; nothing of it was published, and run() would ask again."""
        if self.upstream is None:
            return
        upstream, self.upstream = self.upstream, None
        upstream.cancel()
        await _let_go(upstream)
        self.pending, self.token_times, self.usage = [], [], None
        self.status, self.error, self.error_kind = Message.Status.COMPLETE, None, None
        self.wake.clear()

    async def _on_stop(self, _text: str) -> None:
        """A stop request from any process (fanout.request_stop); also before run() began."""
        self.stopped.set()

    def interrupt(self) -> None:
        """End now as `interrupted` with the text so far: this process is shutting down and
        its drain time is over. The upstream request is closed as for a stop."""
        self.interrupted = True
        self.stopped.set()

    async def run(self) -> Message:
        partials.saver().track(self)  # (its beats began in prepare(), which launch() awaited)
        if self.upstream is None:
            self.upstream = asyncio.create_task(self._read_upstream())
        upstream = self.upstream
        stop = asyncio.create_task(self.stopped.wait())
        publisher = asyncio.create_task(self._publish())
        try:
            await asyncio.wait({upstream, stop}, return_when=asyncio.FIRST_COMPLETED)
            if self.stopped.is_set() or upstream.cancelled():
                self.status = Message.Status.STOPPED
                upstream.cancel()  # aclosing() then closes the upstream request
                await _let_go(upstream)
        finally:
            stop.cancel()
            with contextlib.suppress(Exception):
                await fanout.unsubscribe(self.stop_group, self._on_stop)
        self.upstream_done = True
        self.wake.set()
        await publisher
        return await self._finish()

    # --- upstream -------------------------------------------------------------------
    async def _read_upstream(self) -> None:
        try:
            async with contextlib.aclosing(
                self.provider.stream(self.context, temperature=self.temperature)
            ) as stream:
                async for item in stream:
                    if isinstance(item, Usage):
                        self.usage = item
                    elif isinstance(item, Chunk) and item.text:
                        self._take(item.part, item.text)
        except UpstreamError as exc:
            self.status, self.error, self.error_kind = Message.Status.ERROR, str(exc), exc.kind
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("answer %s failed", self.id)
            self.status, self.error = Message.Status.ERROR, "The answer failed because of a server error."
            self.error_kind = "server"

    def _take(self, part: str, text: str) -> None:
        if self.stopped.is_set():
            return  # stored text ends where the stop came, whatever was in flight
        self.token_times.append(time.perf_counter())
        if self.pending and self.pending[-1].part == part:
            self.pending[-1].pieces.append(text)
        else:
            self.pending.append(Segment(part, [text]))
        self.wake.set()

    # --- publishing -------------------------------------------------------------------
    async def _publish(self) -> None:
        """Publish what the upstream sent, paced (CHAT_FRAME_INTERVAL). A quiet answer's
        heartbeat comes from chat.beats."""
        loop = asyncio.get_running_loop()
        interval = settings.CHAT_FRAME_INTERVAL
        last_flush = self.flushed_at if self.flushed_at is not None else loop.time() - interval
        while True:
            if not self.wake.is_set():
                await self.wake.wait()
            if self.pending and not self.upstream_done:
                # Coalesce: tokens arriving within the window share one frame.
                delay = last_flush + interval - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            if self.sending is not None and not self.sending.done():
                # One batch of frames on its way at a time: while Redis is slow, tokens gather
                # into the next frame instead of frames queueing up.
                await self._quietly(self.sending)
            self.wake.clear()
            if self.pending:
                await self._flush()
                last_flush = loop.time()
            if self.upstream_done and not self.pending:
                if self.sending is not None:  # the live state is complete before _finish drops it
                    await self._quietly(self.sending)
                return

    def flush_early(self) -> None:
        """With Redis, queue the tokens that came while the send was stored (ask_early) now,
        behind the answer's `message.created` frames, rather than from its publisher: that
        starts two turns of the loop later (its task, then the publisher's), and a turn
        takes milliseconds on a busy process. (In memory a publish is awaited: left to it.)"""
        if self.pending and not self.stopped.is_set() and fanout.get_hub().queued:
            self._queue_pending()
            self.flushed_at = asyncio.get_running_loop().time()

    async def _flush(self) -> None:
        """Publish the pending segments, one delta frame each, live state first."""
        sent = self._queue_pending()
        if sent is not None:
            await self._quietly(sent)

    def _queue_pending(self) -> Awaitable[None] | None:
        """Publish the pending segments; what to await (None: queued for Redis, which an
        answer does not wait for: a task switch per frame)."""
        segments = [(s.part, "".join(s.pieces), len(s.pieces)) for s in self.pending]
        self.pending = []
        first_seq = self.seq + 1
        for part, text, _ in segments:
            self.seq += 1
            self.text[part].append(text)
        sent_at = time.perf_counter()
        self.frame_log += [(sent_at, tokens) for _, _, tokens in segments]
        sent = fanout.publish_deltas(
            self.owner_id, self.conversation_id, self.id, first_seq, [(part, text) for part, text, _ in segments])
        if asyncio.isfuture(sent):
            self.sending = sent
            sent.add_done_callback(self._sent)
            return None
        return sent

    def _sent(self, sent: asyncio.Future) -> None:
        if not sent.cancelled() and (exc := sent.exception()) is not None:
            self._lost(exc)

    async def _quietly(self, live_work) -> None:
        """Run live-state or fan-out work; a failure (Redis away) does not end the answer.

        The text stays here and reaches the database through the partial saves and the
        final save, so what users saw before their sockets closed is never lost, and the
        row never stays `streaming`.
        """
        try:
            await live_work
        except Exception as exc:
            self._lost(exc)

    def _lost(self, exc: Exception) -> None:
        if not self.live_lost:
            log.warning("answer %s goes on without live state/fan-out: %s", self.id, exc)
        self.live_lost = True

    def text_so_far(self) -> tuple[str, str, int]:
        return "".join(self.text["content"]), "".join(self.text["reasoning"]), self.seq

    # --- the end ----------------------------------------------------------------------------
    async def _finish(self) -> Message:
        partials.saver().forget(self)
        try:
            return await self._store_and_announce()
        finally:
            # Beaten until its row is final and its live state gone: on a saturated process
            # the final save may wait seconds for the ORM thread, and an answer without beats
            # meanwhile was taken for one of a dead process and interrupted by a reaper.
            beats.beater().forget(self)

    async def _store_and_announce(self) -> Message:
        if self.stopped.is_set() and self.status == Message.Status.COMPLETE:
            self.status = Message.Status.STOPPED
        if self.interrupted and self.status == Message.Status.STOPPED:
            self.status, self.error = Message.Status.INTERRUPTED, services.INTERRUPTED_ERROR
        content, reasoning, seq = self.text_so_far()
        if self.status == Message.Status.ERROR and not content and not self.error:
            self.error = "The model returned nothing."
        answer = await orm_call(
            services.answer_finish, answer_id=self.id, status=self.status, content=content, reasoning=reasoning,
            seq=seq, error=self.error, usage=self.usage,
        )
        await self._quietly(self._drop_live())
        tokens.prime(content)  # the next send of the conversation counts it
        if answer is not None:  # None: deleted with its conversation meanwhile
            recall.answered(self.owner_id, answer)  # the next send is guessed with its text
            await self._quietly(
                fanout.publish(self.owner_id, self.conversation_id, protocol.message_done_frame(answer))
            )
        _tell(signals.answer_ended, answer=self, message=answer)
        return answer


STOP_GRACE = 0.2  # how long a stop waits for the upstream request to close before going on
_closing: set[asyncio.Task] = set()  # upstream reads still closing after their answer ended


async def _let_go(upstream: asyncio.Task) -> None:
    """Wait briefly for a cancelled upstream read to close its request, then go on.

    A stop must end the answer within a second whatever the upstream does: a cancel that
    lands while the client is still connecting or inside a timeout helper can be swallowed
    (asyncio.wait_for on Python 3.11), so the read is cancelled again in the background
    until it ends, and the answer does not wait for it.
    """
    done, _ = await asyncio.wait({upstream}, timeout=STOP_GRACE)
    if done:
        return
    _closing.add(upstream)
    upstream.add_done_callback(_closing.discard)

    async def keep_cancelling():
        for _ in range(200):  # 10 s at most
            if upstream.done():
                return
            upstream.cancel()
            await asyncio.sleep(0.05)
        log.warning("an upstream read ignored cancellation for 10 s")

    task = asyncio.create_task(keep_cancelling())
    _closing.add(task)
    task.add_done_callback(_closing.discard)


async def launch(answer: Answer) -> asyncio.Task:
    """Start an answer in its own task; it outlives the socket or request that asked."""
    await answer.prepare()
    if answer.upstream is None:  # (else it started when its request did: ask_early)
        answer.started_at = time.perf_counter()
    _tell(signals.answer_started, answer=answer)
    task = answer.task = detached(_guarded(answer), name=f"answer-{answer.id}")
    _running[answer.id] = answer
    task.add_done_callback(lambda _: _running.pop(answer.id, None))
    answer.flush_early()
    return task


def _tell(signal, **kwargs) -> None:
    """Send one of chat.signals; a failing receiver costs a log line, not the answer."""
    if not signal.receivers:
        return
    for receiver, result in signal.send_robust(sender=Answer, **kwargs):
        if isinstance(result, Exception):
            log.error("a receiver of an answer signal failed: %r", result, exc_info=result)


async def _guarded(answer: Answer) -> Message | None:
    try:
        return await answer.run()
    except Exception:
        log.exception("answer %s could not be finished", answer.id)
        return None


async def wait_all(timeout: float = 30) -> None:
    """Wait for every answer this process runs (tests, graceful shutdown)."""
    tasks = [answer.task for answer in _running.values()]
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)


def running_here(answer_id) -> bool:
    return str(answer_id) in _running


def running_count() -> int:
    return len(_running)


def running_for(owner_id) -> int:
    """How many of one user's answers run here."""
    return sum(1 for answer in _running.values() if answer.owner_id == owner_id)


def accepting() -> bool:
    """Whether this process starts new answers (not once it is shutting down)."""
    return _accepting


def stop_accepting() -> None:
    global _accepting
    _accepting = False


async def interrupt_all(timeout: float = 10) -> int:
    """End every answer still running here as `interrupted` with its text so far, and wait
    (up to `timeout`) until they are stored and announced. Returns how many there were."""
    answers = list(_running.values())
    for answer in answers:
        answer.interrupt()
    await wait_all(timeout)
    return len(answers)
