"""Answers whose process died: stored `interrupted` with the text users saw, and announced.

Every frame of an answer renews its beat in the live state (chat.state), and chat.beats
beats the quiet ones twice a second, so a beat is at most about a second old. When the
beat goes stale (CHAT_STALE_AFTER), the process is gone, and three paths repair it, all
keeping the longest text known (the live state is ahead of the last partial save):
- on read: a snapshot, send or stop in that conversation (actions.repair_orphans);
- the reaper: every process with Redis looks for stale beats every CHAT_REAP_INTERVAL,
  so listeners on other processes learn within seconds, without anyone reading;
- at start-up (recover_on_start), for a restart with nobody else running.
"""
import asyncio
import contextlib
import logging
import random
import weakref
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from . import fanout, protocol, selectors, services
from .models import Message
from .state import LiveAnswer, answer_keys, get_store, is_stale, running_key
from .tasks import detached

log = logging.getLogger(__name__)


async def interrupt(answer: Message, owner_id, live: LiveAnswer | None) -> Message | None:
    """Store an orphaned answer `interrupted` with the longest text known; tell its listeners.

    None when it had ended meanwhile (another process repaired it, or it finished).
    """
    finished = await database_sync_to_async(services.answer_interrupt)(
        answer_id=answer.id, **_longest_text(answer, live)
    )
    if finished is not None:
        await get_store().drop(str(answer.id))
        await fanout.publish(owner_id, answer.conversation_id, protocol.message_done_frame(finished))
    return finished


async def reap() -> int:
    """Interrupt every answer, on any process, whose heartbeat went stale. Returns the count."""
    from .generation import running_here

    store = get_store()
    ids = [i for i in await store.stale(settings.CHAT_STALE_AFTER) if not running_here(i)]
    if not ids:
        return 0
    answers = await database_sync_to_async(selectors.streaming_answers_by_id)(ids=ids)
    for gone in set(ids) - {str(a.id) for a in answers}:
        await store.drop(gone)  # ended or deleted: only its live keys were left
    count = 0
    for answer in answers:
        live = await store.get(str(answer.id))
        if is_stale(live):
            count += await interrupt(answer, answer.conversation.owner_id, live) is not None
    return count


async def _reap_forever() -> None:
    interval = settings.CHAT_REAP_INTERVAL
    while True:
        # Jitter, so the processes of a deployment do not all ask Redis at once.
        await asyncio.sleep(interval * random.uniform(0.8, 1.2))
        try:
            reaped = await reap()
            if reaped:
                log.warning("marked %d answer(s) of a dead process interrupted", reaped)
        except Exception as exc:  # Redis or the database away: try again next time
            log.warning("reaper: %s", exc)


_reapers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task]" = weakref.WeakKeyDictionary()


def ensure_reaper() -> None:
    """Start this process's reaper (once per event loop); only with Redis, where other
    processes' answers can die under our listeners."""
    if not settings.REDIS_URL or settings.CHAT_REAP_INTERVAL <= 0:
        return
    loop = asyncio.get_running_loop()
    task = _reapers.get(loop)
    if task is None or task.done():
        _reapers[loop] = detached(_reap_forever(), name="answer-reaper")


def starting(answer: Message, live: LiveAnswer | None) -> bool:
    """Whether an answer without live state may be starting on another process rather than
    orphaned. With Redis its row is committed beside its live state's start, which Redis
    may run a little later (a rolling restart's start-up recovery took one for an orphan),
    so a row younger than CHAT_STALE_AFTER without live state is left to its process; if
    that process died instead, a read after CHAT_STALE_AFTER repairs it. (In memory the
    start is done before the row is stored.)"""
    young = timezone.now() - timedelta(seconds=settings.CHAT_STALE_AFTER)
    return bool(settings.REDIS_URL) and live is None and answer.created_at > young


def recover_on_start() -> int:
    """Mark answers left `streaming` by a dead process `interrupted`. Sync; returns the count.

    Without Redis this process is the only one, so every streaming answer is an orphan
    and its last partial save is all there is; with Redis, only answers whose heartbeat
    has gone stale, keeping the live text the users saw.
    """
    answers = selectors.all_streaming_answers()
    if not answers:
        return 0
    client = None
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
    count = 0
    for answer in answers:
        live = _live_sync(client, answer.id) if client is not None else None
        if client is not None and not is_stale(live):
            continue  # still beating: another process runs it
        if starting(answer, live):  # (with Redis only)
            continue
        count += services.answer_interrupt(answer_id=answer.id, **_longest_text(answer, live)) is not None
        if client is not None:
            with contextlib.suppress(Exception):
                client.delete(*answer_keys(answer.id))
                client.zrem(running_key(), str(answer.id))
    return count


def _live_sync(client, message_id) -> LiveAnswer | None:
    content, reasoning, meta = answer_keys(message_id)
    with client.pipeline(transaction=True) as pipe:
        return LiveAnswer.from_redis(*pipe.get(content).get(reasoning).hgetall(meta).execute())


def _longest_text(answer: Message, live: LiveAnswer | None) -> dict:
    """services.answer_interrupt's text arguments: the live state's text when it is ahead
    of the last partial save, else None (keep what the row holds)."""
    ahead = live is not None and live.seq > answer.seq
    return dict(content=live.content if ahead else None, reasoning=live.reasoning if ahead else None,
                seq=live.seq if ahead else None)

