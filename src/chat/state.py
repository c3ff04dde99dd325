"""Live state of streaming answers, shared by every process that may serve a snapshot.

The answer's task folds each delta into this state *before* publishing it, and a
socket joins the conversation's group *before* it reads this state, so a snapshot
plus the deltas received after it always add up to the whole text (see docs/architecture.md).
In-process (no REDIS_URL) a dict serves a single process; with REDIS_URL the same
operations run against Redis so any Daphne process can read any answer.
It also holds the per-user rate-limit logs, for the same reason.
"""
import time
import uuid
from collections import deque
from dataclasses import dataclass

from django.conf import settings

from .tasks import per_loop

# Keys outlive their answer only when its process dies; the heartbeat goes stale long before.
KEY_TTL = 300


@dataclass
class LiveAnswer:
    content: str
    reasoning: str
    seq: int
    beat: float  # unix time of the last sign of life from the answer's task

    @classmethod
    def from_redis(cls, text: bytes | None, thinking: bytes | None, fields: dict) -> "LiveAnswer | None":
        """From GET content, GET reasoning, HGETALL meta (async or sync client alike)."""
        if not fields:
            return None
        return cls((text or b"").decode(), (thinking or b"").decode(), int(fields[b"seq"]), float(fields[b"beat"]))


def running_key() -> str:
    """A sorted set of the answers streaming on any process, scored by their last beat."""
    return f"{settings.CHAT_REDIS_PREFIX}:answers:running"


def answer_keys(message_id) -> tuple[str, str, str]:
    """Redis keys of one answer's live state: content, reasoning, meta (seq, beat)."""
    base = f"{settings.CHAT_REDIS_PREFIX}:answer:{message_id}"
    return f"{base}:content", f"{base}:reasoning", f"{base}:meta"


class MemoryStore:
    def __init__(self):
        self._answers: dict[str, LiveAnswer] = {}
        self._rates: dict[str, deque[tuple[float, str | None]]] = {}

    async def start(self, message_id: str) -> None:
        self._answers[message_id] = LiveAnswer("", "", 0, time.time())

    async def append(self, message_id: str, segments: list[tuple[str, str]], seq: int) -> None:
        live = self._answers.get(message_id)
        if live is None:
            return
        for part, text in segments:
            if part == "reasoning":
                live.reasoning += text
            else:
                live.content += text
        live.seq = seq
        live.beat = time.time()

    async def beat(self, message_ids: list[str]) -> None:
        now = time.time()
        for message_id in message_ids:
            if (live := self._answers.get(message_id)) is not None:
                live.beat = now

    async def stale(self, older_than: float) -> list[str]:
        """Ids of answers whose last sign of life is older than `older_than` seconds."""
        limit = time.time() - older_than
        return [key for key, live in self._answers.items() if live.beat < limit]

    async def get(self, message_id: str) -> LiveAnswer | None:
        live = self._answers.get(message_id)
        return LiveAnswer(live.content, live.reasoning, live.seq, live.beat) if live else None

    async def drop(self, message_id: str) -> None:
        self._answers.pop(message_id, None)

    async def hit(self, key: str, limit: int, window: float, now: float | None = None,
                  event: str | None = None) -> float | None:
        """Sliding window: take one event if fewer than `limit` were taken in the last `window`
        seconds; None when taken, else the seconds until the oldest of them leaves the window.
        A taken `event` can be given back (give_back).

        Refused events are not logged, so a client hammering the limit gets in again on time.
        """
        now = time.time() if now is None else now
        log = self._rates.setdefault(key, deque())
        while log and log[0][0] <= now - window:
            log.popleft()
        if len(log) >= limit:
            return log[0][0] + window - now if log else window
        log.append((now, event))
        if len(self._rates) > 10_000:  # forget idle users now and then
            self._rates = {k: v for k, v in self._rates.items() if v and v[-1][0] > now - window}
        return None

    async def give_back(self, key: str, event: str) -> None:
        """Forget an event hit() took (what it counted was refused after all)."""
        log = self._rates.get(key, ())
        for entry in log:
            if entry[1] == event:
                log.remove(entry)
                return


class RedisStore:
    def __init__(self, url: str):
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url)
        # Scripts go by their SHA after the first call (EVALSHA), not as text on every call.
        self._hit = self._redis.register_script(_SLIDING_WINDOW)

    @staticmethod
    def _keys(message_id: str) -> tuple[str, str, str]:
        return answer_keys(message_id)

    # No start and no append here: with Redis an answer's live state is started, and its text
    # folded into its keys, by the script calls that publish frames (fanout.RedisHub), one
    # call per loop turn, in line with the frames queued around them.

    async def stale(self, older_than: float) -> list[str]:
        """Ids of answers, on any process, whose last beat is older than `older_than` s.

        One ZRANGEBYSCORE on the index of running answers: the reaper of every process
        asks this every second, so it must not touch the database.
        """
        ids = await self._redis.zrangebyscore(running_key(), "-inf", time.time() - older_than)
        return [i.decode() for i in ids]

    async def get(self, message_id: str) -> LiveAnswer | None:
        content, reasoning, meta = self._keys(message_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.get(content).get(reasoning).hgetall(meta)
            return LiveAnswer.from_redis(*await pipe.execute())

    async def drop(self, message_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(*self._keys(message_id)).zrem(running_key(), message_id)
            await pipe.execute()

    async def hit(self, key: str, limit: int, window: float, now: float | None = None,
                  event: str | None = None) -> float | None:
        """MemoryStore.hit across processes: the log is a sorted set trimmed and grown in one
        Lua script, so two processes can never both take the last place."""
        now = time.time() if now is None else now
        result = await self._hit(keys=[self._rate_key(key)],
                                 args=[repr(now), repr(float(window)), limit, event or uuid.uuid4().hex])
        return None if result is None else float(result)

    async def give_back(self, key: str, event: str) -> None:
        await self._redis.zrem(self._rate_key(key), event)

    @staticmethod
    def _rate_key(key: str) -> str:
        return f"{settings.CHAT_REDIS_PREFIX}:rate:{key}"


# KEYS[1] the log; ARGV now, window, limit, a unique member. Returns nil when the event is
# taken, else the wait in seconds (a string: Lua numbers become integers on the way out).
# The clock is the caller's, not Redis TIME: processes on one host share it, and tests set it.
_SLIDING_WINDOW = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
  if not oldest then return tostring(window) end
  return tostring(tonumber(oldest) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return nil
"""


# KEYS the running index, then the meta key of each answer; ARGV now, then each answer's id.
# Only answers still there: one that ended meanwhile (its keys dropped) stays ended.
_BEAT = """
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('HSET', KEYS[i], 'beat', ARGV[1])
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[i])
  end
end
"""


def beat_with(client):
    """The beat (see _BEAT) on a synchronous Redis client, for chat.beats' thread:
    beat(message_ids) in one round trip."""
    script = client.register_script(_BEAT)

    def beat(message_ids) -> None:
        script(keys=[running_key(), *(answer_keys(i)[2] for i in message_ids)],
               args=[repr(time.time()), *message_ids])
    return beat


# The Redis client is bound to the event loop that created it: one store per loop.
_redis_store = per_loop(lambda: RedisStore(settings.REDIS_URL))
_memory = MemoryStore()


def get_store() -> MemoryStore | RedisStore:
    return _redis_store() if settings.REDIS_URL else _memory


def is_stale(live: LiveAnswer | None) -> bool:
    """Whether a streaming answer's task is gone (no live state, or no heartbeat lately)."""
    return live is None or time.time() - live.beat > settings.CHAT_STALE_AFTER
