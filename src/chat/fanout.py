"""Frames of a conversation to every socket and SSE stream of it, on any process.

Group names are not secrets: whoever can name a group can join it, and a socket may sit
on a conversation id before anyone created it. So every group is named by the owner
*and* the conversation: a socket joins the group of its own user, and frames go to the
group of the conversation's owner. Another user's socket on the same id listens to a
group nobody ever publishes to, whoever came first.

Frames do not go through the channel layer. channels-redis keeps all process-local
channels of a process under one Redis key and counts `capacity` on it, so a process whose
loop lags a little drops frames of all its sockets at once (seen at 60 answers: a third of
the deltas lost). Instead each process (each event loop) holds one Redis pub/sub
connection, subscribed to the groups its listeners want, and hands every frame to its
local listeners in memory, in order. Without Redis the hub is only the in-memory part.
A frame lost anyway (the subscriber's connection dropped) shows as a gap in `seq`, which
clients repair with `conversation.sync`.

Stop requests travel the same way, to the group a running answer's task joined
(`stop_group`).

With Redis, every frame a process publishes goes out in one Lua script call per turn of
its event loop (RedisHub.flush): the deltas of all its answers, each with its live-state
append (chat.state), and any other frame. At 60 answers the Redis client's cost per
command was a quarter of the process's CPU; a batch costs one command, however many
frames it holds, and an idle process still sends a lone frame at once.

The listeners of the publishing process get its frames at once, in memory, not back from
Redis (RedisHub.landing): the round trip and the subscriber's read had been half of the
deployed shape's token -> frame delay at L2. Its subscriber skips its own frames, which
carry its origin. Such a frame can reach a socket before Redis holds its text, so a
listener that joins, or a socket that syncs, first gets the frames still on their way
there: its snapshot, read after, then lacks none of what it missed.
"""
import asyncio
import contextlib
import hashlib
import logging
import math
import secrets
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable

import hiredis
from django.conf import settings
from redis.exceptions import NoScriptError

from . import protocol, state
from .tasks import detached

log = logging.getLogger(__name__)

STOP = "stop"  # the text published to a stop group
_STOP = STOP.encode()

# A listener gets each frame's text (encoded once for everyone); it must not block.
Deliver = Callable[[str], Awaitable[None]]


def conversation_group(owner_id, conversation_id) -> str:
    return f"chat.{owner_id}.{conversation_id}"


# Stop groups (with Redis, one pattern subscription per process hears them all: RedisHub).
STOP_GROUPS = "chat.stop."


def stop_group(owner_id, conversation_id) -> str:
    """Joined by the task of a running answer, wherever it runs."""
    return f"{STOP_GROUPS}{owner_id}.{conversation_id}"


def publish(owner_id, conversation_id, *frames: dict) -> Awaitable[None]:
    """Send server frames, in order, to every listener of the owner's conversation; each
    encoded once. Await the result: it ends once they went out (or raises).

    Their place in line is taken at the call: whatever a task started after it publishes
    comes after them. So a caller may start what must follow them, such as the answer their
    message.created frames announce, before awaiting: a send does not wait for Redis's round
    trip before its answer starts.
    """
    return get_hub().publish(conversation_group(owner_id, conversation_id), *map(protocol.encode, frames))


def publish_deltas(owner_id, conversation_id, message_id: str, first_seq: int,
                   segments: list[tuple[str, str]]) -> Awaitable[None]:
    """Fold an answer's segments into its live state, then send one delta frame each.
    Await the result (with Redis: queued at the call, as publish() is).

    Atomic with Redis: a snapshot read in between sees the text with its seq or neither.
    """
    frames = [protocol.encode(protocol.delta_frame(message_id, first_seq + n, part, text))
              for n, (part, text) in enumerate(segments)]
    return get_hub().publish_live(conversation_group(owner_id, conversation_id), message_id,
                                  segments, first_seq + len(segments) - 1, frames)


def start_live(message_id: str) -> Awaitable[None]:
    """Start an answer's live state (chat.state): with Redis, queued at the call in the
    same script calls as frames, so its keys exist before any frame queued after it
    (the answer's `message.created`) goes out."""
    return get_hub().start_live(message_id)


async def request_stop(owner_id, conversation_id) -> None:
    await get_hub().publish(stop_group(owner_id, conversation_id), STOP)


async def subscribe(group: str, deliver: Deliver) -> None:
    """Deliver the group's frames from now on (returns once the subscription is live)."""
    await get_hub().subscribe(group, deliver)


async def unsubscribe(group: str, deliver: Deliver) -> None:
    await get_hub().unsubscribe(group, deliver)


def in_flight(group: str) -> list[str]:
    """Frames this process's listeners of `group` got whose text the live state may not hold
    yet (with Redis); a listener reading a snapshot again takes these as arrived after it."""
    return get_hub().in_flight(group)


class LocalHub:
    """The listeners of this process, by group; frames published here reach only them."""

    queued = False  # publish_live() is a coroutine to await (RedisHub: a future, queued at the call)

    def __init__(self):
        self.listeners: dict[str, list[Deliver]] = {}

    def publish(self, group: str, *texts: str) -> asyncio.Future:
        """Delivered by a task of its own: what a task started after this call publishes
        comes after these (see publish())."""
        return asyncio.ensure_future(self._deliver_all(group, texts))

    async def _deliver_all(self, group: str, texts: tuple[str, ...]) -> None:
        for text in texts:
            await self.deliver(group, text)

    async def publish_live(self, group: str, message_id: str, segments: list[tuple[str, str]], seq: int,
                           frames: list[str]) -> None:
        await state.get_store().append(message_id, segments, seq)
        for text in frames:
            await self.deliver(group, text)

    async def start_live(self, message_id: str) -> None:
        await state.get_store().start(message_id)

    async def deliver(self, group: str, text: str) -> None:
        for deliver in tuple(self.listeners.get(group, ())):
            try:
                await deliver(text)
            except Exception:  # one closed socket must not cost the others their frame
                log.debug("a listener of %s failed", group, exc_info=True)

    async def subscribe(self, group: str, deliver: Deliver) -> None:
        self.listeners.setdefault(group, []).append(deliver)

    async def unsubscribe(self, group: str, deliver: Deliver) -> None:
        listeners = self.listeners.get(group, [])
        with contextlib.suppress(ValueError):
            listeners.remove(deliver)
        if not listeners:
            self.listeners.pop(group, None)

    def in_flight(self, group: str) -> list[str]:
        return []  # in memory, the live state holds a frame's text before it is delivered


class _Here:
    """The frames of one publish call, for this process's listeners (RedisHub.landing)."""

    __slots__ = ("group", "texts", "numbers", "settled")

    def __init__(self, group: str, texts):
        self.group, self.texts = group, texts
        self.numbers: list[int] = []  # in RedisHub.landing while their script call is out
        self.settled = False  # the script call returned (or failed)


class RedisHub(LocalHub):
    """LocalHub across processes: PUBLISH to Redis, one subscriber connection per process."""

    queued = True
    BATCH = 500  # records per script call, so one call never holds Redis for long
    ORIGIN = 16  # characters of the origin each published frame begins with

    def __init__(self, url: str, prefix: str):
        super().__init__()
        import redis.asyncio as redis

        self.prefix = f"{prefix}:frames:"
        self._prefix_bytes = self.prefix.encode()
        self.redis = redis.from_url(url)
        self.pubsub = self.redis.pubsub()
        self.live: dict[str, asyncio.Future] = {}  # group -> resolved once Redis confirmed it
        self.stops_live: asyncio.Future | None = None  # the stop groups' pattern, once confirmed
        self.reader: asyncio.Task | None = None
        # One (UN)SUBSCRIBE at a time: redis-py's PubSub opens its connection on first use, and
        # two callers racing there each open one; the commands sent on the one it forgets are
        # never confirmed (a fresh process's first sockets then timed out after 10 s).
        self.commands = asyncio.Lock()
        self.sender_connection = None  # the script calls' own connection (_run_send)
        self.outbox: list[tuple[list, list, asyncio.Future, _Here | None]] = []  # in order
        self.sender: asyncio.Task | None = None
        # What this process publishes reaches its own listeners from memory (_deliver_here), in
        # the order published; its subscriber skips it when Redis sends it back.
        self.origin = secrets.token_hex(self.ORIGIN // 2)
        self._origin_bytes = self.origin.encode()
        self.here: deque[_Here] = deque()  # not yet delivered here
        self.deliverer: asyncio.Task | None = None
        # group -> {number: frame} delivered here whose script call has not returned: Redis
        # may not hold their text yet, so a listener joining now gets them first (subscribe).
        self.landing: dict[str, dict[int, str]] = {}
        self.numbered = 0

    def publish(self, group: str, *texts: str) -> asyncio.Future:
        """Queued at the call (see publish())."""
        args = []
        for text in texts:
            args += ["p", self.prefix + group, self.origin + text]
        return self._queue([], args, group, texts)

    def publish_live(self, group: str, message_id: str, segments: list[tuple[str, str]], seq: int,
                     frames: list[str]) -> asyncio.Future:
        """Queued at the call (see publish())."""
        args = ["a", message_id, seq, len(segments)]
        for part, text in segments:
            args += [part, text]
        args.append(len(frames))
        for text in frames:
            args += [self.prefix + group, self.origin + text]
        return self._queue(list(state.answer_keys(message_id)), args, group, frames)

    def start_live(self, message_id: str) -> asyncio.Future:
        """Queued at the call (see start_live()): one record of the next script call, not a
        MULTI of its own through redis-py, which cost a send several turns of the loop."""
        return self._queue(list(state.answer_keys(message_id)), ["s", message_id])

    def _queue(self, keys: list, args: list, group: str | None = None, texts=()) -> asyncio.Future:
        done = asyncio.get_running_loop().create_future()
        here = None
        if texts:
            here = _Here(group, texts)
            self.here.append(here)
            if self.deliverer is None or self.deliverer.done():
                self.deliverer = detached(self._deliver_here(), name="fanout-here")
        self.outbox.append((keys, args, done, here))
        if self.sender is None or self.sender.done():
            # Runs on the next loop turn: what other tasks queue meanwhile goes in the same call.
            self.sender = detached(self.flush(), name="fanout-sender")
        return done

    async def _deliver_here(self) -> None:
        """This process's listeners get its frames in the order published, without waiting
        for Redis; each is `landing` until its script call returned."""
        while self.here:
            here = self.here.popleft()
            for text in here.texts:
                if not here.settled:  # (else Redis holds it already)
                    self.numbered += 1
                    self.landing.setdefault(here.group, {})[self.numbered] = text
                    here.numbers.append(self.numbered)
                await self.deliver(here.group, text)

    def _settle(self, here: _Here) -> None:
        """Its script call returned or failed: a snapshot read from now on holds its text (or
        never will), so a listener joining later need not get it first."""
        here.settled = True
        landing = self.landing.get(here.group)
        if landing is not None:
            for number in here.numbers:
                landing.pop(number, None)
            if not landing:
                del self.landing[here.group]

    def in_flight(self, group: str) -> list[str]:
        return list(self.landing.get(group, {}).values())

    async def flush(self) -> None:
        """Send what is queued, one script call per BATCH records, in queue order."""
        while self.outbox:
            batch, self.outbox = self.outbox[:self.BATCH], self.outbox[self.BATCH:]
            keys, args = [state.running_key()], [repr(time.time()), state.KEY_TTL]
            for record_keys, record_args, _, _ in batch:
                keys += record_keys
                args += record_args
            try:
                await self._run_send(keys, args)
            except Exception as exc:  # each waiting publisher learns of it (Redis away)
                for _, _, done, here in batch:
                    if here is not None:
                        self._settle(here)
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, _, done, here in batch:
                    if here is not None:
                        self._settle(here)
                    if not done.done():
                        done.set_result(None)

    async def _run_send(self, keys: list, args: list, *, loaded: bool = False) -> None:
        """One call of _SEND by its SHA, on a connection of the hub's own, packed by hiredis.

        Through redis-py's command path (its pool, its retry wrapper, its packing in Python,
        argument by argument) these calls were 6.5 % of a process's CPU at L2 (2026-12-07).
        Nothing is retried, as no redis-py retry could safely do either: a call whose reply was
        lost may have run, and running it again would append its text twice. The publishers
        of a failed call learn of it (a gap for their listeners); the next call connects again.
        """
        connection = self.sender_connection
        if connection is None:
            connection = self.sender_connection = self.redis.connection_pool.make_connection()
        await connection.send_packed_command(
            hiredis.pack_command(("EVALSHA", _SEND_SHA, len(keys), *keys, *args)), check_health=False)
        try:
            await connection.read_response()
        except NoScriptError:  # a new or flushed Redis: load it, once
            if loaded:
                raise
            await self.redis.script_load(_SEND)
            await self._run_send(keys, args, loaded=True)

    async def aclose(self) -> None:
        """Close its connections (tests; a process's hub lives as long as its loop)."""
        if self.reader is not None:
            self.reader.cancel()
        if self.sender_connection is not None:
            await self.sender_connection.disconnect()
        await self.pubsub.aclose()
        await self.redis.aclose()

    async def subscribe(self, group: str, deliver: Deliver) -> None:
        if group.startswith(STOP_GROUPS):
            # (Not given the frames landing: a stop published before this answer listened was
            # meant for an earlier one.)
            await super().subscribe(group, deliver)
            # Every stop group, for all answers of the process, through one PSUBSCRIBE made once:
            # an answer's own SUBSCRIBE is confirmed only behind every frame the subscriber has
            # yet to read, and each send waited for it before its answer could be shown
            # (milliseconds at L2, seconds at L3). Stop requests are rare, so every process
            # hearing all of them costs nothing.
            await self._hear_stops()
            return
        await self._join(group, deliver)
        confirmed = self.live.get(group)
        if confirmed is None:
            confirmed = self.live[group] = asyncio.get_running_loop().create_future()
            try:
                async with self.commands:
                    await self.pubsub.subscribe(self.prefix + group)
            except BaseException:
                self.live.pop(group, None)
                await super().unsubscribe(group, deliver)
                raise
            if self.reader is None or self.reader.done():
                self.reader = detached(self._read(), name="fanout-reader")
        # Frames published after the confirmation reach us: the caller reads state after this.
        await asyncio.wait_for(asyncio.shield(confirmed), timeout=10)

    async def _join(self, group: str, deliver: Deliver) -> None:
        """Listen to `group` here, first getting its frames delivered here that Redis may not
        hold yet, so the snapshot the caller reads next lacks none of what it missed. (Those
        delivered meanwhile are landing too, or else in Redis before that snapshot is read.)"""
        given = 0
        while fresh := [(n, text) for n, text in self.landing.get(group, {}).items() if n > given]:
            for given, text in fresh:
                await deliver(text)
        await super().subscribe(group, deliver)  # (no turn of the loop between the last look and this)

    async def _hear_stops(self) -> None:
        if self.stops_live is None:
            self.stops_live = asyncio.get_running_loop().create_future()
            try:
                async with self.commands:
                    await self.pubsub.psubscribe(_glob_escaped(self.prefix + STOP_GROUPS) + "*")
            except BaseException:
                self.stops_live = None
                raise
            if self.reader is None or self.reader.done():
                self.reader = detached(self._read(), name="fanout-reader")
        if not self.stops_live.done():  # (else no wait: wait_for costs turns of the loop even then)
            await asyncio.wait_for(asyncio.shield(self.stops_live), timeout=10)

    async def unsubscribe(self, group: str, deliver: Deliver) -> None:
        await super().unsubscribe(group, deliver)
        if group not in self.listeners and self.live.pop(group, None) is not None:
            with contextlib.suppress(Exception):
                async with self.commands:
                    await self.pubsub.unsubscribe(self.prefix + group)

    async def _read(self) -> None:
        while True:
            try:
                response = await self._next()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # redis-py reconnects and subscribes again on the next call
                log.warning("frame subscriber lost its Redis connection: %s", exc)
                await asyncio.sleep(0.5)
                continue
            if not isinstance(response, list) or len(response) < 3:
                continue  # nothing within a second, or a PONG
            kind, channel = response[0], response[1]
            if kind == b"psubscribe":  # (its channel is the pattern, escaped)
                await self.pubsub.handle_message(response)
                if self.stops_live is not None and not self.stops_live.done():
                    self.stops_live.set_result(None)
                continue
            if kind == b"pmessage":  # [kind, pattern, channel, text]: a stop group's
                channel, response = response[2], response[1:]
            if not channel.startswith(self._prefix_bytes):
                continue
            if kind in (b"message", b"pmessage"):
                text = response[2]
                if text.startswith(self._origin_bytes):
                    continue  # ours: it reached our listeners when published
                if not (text.startswith(b"{") or text == _STOP):
                    text = text[self.ORIGIN:]  # (else from a process of the code before origins, in a rolling deploy)
                await self.deliver(channel[len(self._prefix_bytes):].decode(), text.decode())
                continue
            group = channel[len(self._prefix_bytes):].decode()
            await self.pubsub.handle_message(response)  # (un)subscribed: redis-py's bookkeeping
            if kind == b"subscribe":
                confirmed = self.live.get(group)
                if confirmed is not None and not confirmed.done():
                    confirmed.set_result(None)

    async def _next(self):
        """The next raw pub/sub reply. Straight from the connection while it is up: redis-py's
        get_message() costs a retry wrapper, a timeout and a dict per frame (the subscriber's
        CPU per 1,000 frames: 35-43 ms through it, 16-18 ms so). A failed read disconnects it;
        the next call then goes through redis-py, which connects again and subscribes again
        to every group."""
        connection = self.pubsub.connection
        if connection is not None and connection.is_connected:
            return await connection.read_response(timeout=math.inf, push_request=True)
        return await self.pubsub.parse_response(block=False, timeout=1.0)


def _glob_escaped(text: str) -> str:
    """`text` matched literally in a Redis pattern (CHAT_REDIS_PREFIX may hold * ? [ ])."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


# KEYS the running index, then content, reasoning, meta of each answer record in turn.
# ARGV now, ttl, then records: "a", message id, seq, n, n x (part, text), m, m x (channel,
# frame) - fold an answer's text into its live state, then publish its frames; "s", message
# id - start an answer's live state (as MemoryStore.start); or "p", channel, frame - publish.
# The state is written before its frames go out (see chat.state).
_SEND = """
local now, ttl = ARGV[1], ARGV[2]
local i, k = 3, 2
while i <= #ARGV do
  if ARGV[i] == 'a' then
    local id, seq, n = ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
    i = i + 4
    for _ = 1, n do
      redis.call('APPEND', ARGV[i] == 'reasoning' and KEYS[k + 1] or KEYS[k], ARGV[i + 1])
      i = i + 2
    end
    redis.call('HSET', KEYS[k + 2], 'seq', seq, 'beat', now)
    for j = 0, 2 do redis.call('EXPIRE', KEYS[k + j], ttl) end
    redis.call('ZADD', KEYS[1], now, id)
    k = k + 3
    local m = tonumber(ARGV[i])
    i = i + 1
    for _ = 1, m do
      redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
      i = i + 2
    end
  elseif ARGV[i] == 's' then
    redis.call('SET', KEYS[k], '', 'EX', ttl)
    redis.call('SET', KEYS[k + 1], '', 'EX', ttl)
    redis.call('HSET', KEYS[k + 2], 'seq', 0, 'beat', now)
    redis.call('EXPIRE', KEYS[k + 2], ttl)
    redis.call('ZADD', KEYS[1], now, ARGV[i + 1])
    k = k + 3
    i = i + 2
  else
    redis.call('PUBLISH', ARGV[i + 1], ARGV[i + 2])
    i = i + 3
  end
end
"""
_SEND_SHA = hashlib.sha1(_SEND.encode()).hexdigest()

_local = LocalHub()
_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisHub]" = weakref.WeakKeyDictionary()
# The last hub handed out, with its loop and prefix: an answer asks for it at every frame,
# and a weak-dictionary lookup makes a new weak reference each time.
_last: tuple = (None, None, None)


def get_hub() -> LocalHub:
    """The in-memory hub without Redis; with Redis one hub per event loop (its connections
    belong to that loop)."""
    global _last
    if not settings.REDIS_URL:
        return _local
    loop, prefix = asyncio.get_running_loop(), settings.CHAT_REDIS_PREFIX
    if _last[0] is loop and _last[1] == prefix:
        return _last[2]
    hub = _hubs.get(loop)
    if hub is None or hub.prefix != f"{prefix}:frames:":
        hub = _hubs[loop] = RedisHub(settings.REDIS_URL, prefix)
    _last = (loop, prefix, hub)
    return hub
