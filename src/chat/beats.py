"""Heartbeats of the answers a process runs, for all of them in one call.

An answer's live state carries the time of its last sign of life (chat.state). A beat
older than CHAT_STALE_AFTER means the process is gone (chat.recovery), and any process's
reaper stores the answer `interrupted`.

With Redis the beats come from a thread of the process, not from its event loop: twice a
second, one call for all its answers. A loop saturated by more answers than it can serve
(200 on one process) ran its beat timer seconds late, and another process's reaper took
its answers, still running, for those of a dead process (85 of 600 in one run on
2026-12-07). The thread beats only while the loop still turns (LOOP_STUCK_AFTER), so the
answers of a loop that is stuck for good are reaped; a process that dies takes its thread
along. A frame also renews its answer's beat (fanout.RedisHub).

Without Redis (one process, the in-process store) the beats come from the loop: the
answers that published nothing since the last look get one, all in one call, twice a
second (a timer per answer was 1.6 % of a process's CPU at L2, 2026-12-07).
"""
import logging
import threading
import time

from django.conf import settings

from . import state
from .state import get_store
from .tasks import EveryAnswer, per_loop

log = logging.getLogger(__name__)

BEAT_INTERVAL = 0.5
# A loop that has not turned for this long is stuck (not only busy): its answers' beats stop.
LOOP_STUCK_AFTER = 60.0


class BeatThread:
    """Beats the ids it is given, twice a second, from a thread of its own (Redis only).
    The thread runs while there are ids, and starts again with the next."""

    def __init__(self, url: str):
        self.url = url
        self.loop_seen = time.monotonic()  # the loop's last turn, set from the loop
        self._ids: tuple[str, ...] = ()
        self._lock = threading.Lock()
        self._running = False

    def beat(self, ids: tuple[str, ...]) -> None:
        """Beat these answers from now on (the answers the loop runs, all of them)."""
        self.loop_seen = time.monotonic()
        with self._lock:
            self._ids = ids
            if ids and not self._running:
                self._running = True
                threading.Thread(target=self._run, name="answer-beats", daemon=True).start()

    def _run(self) -> None:
        import redis

        client = redis.Redis.from_url(self.url)
        beat, failing = state.beat_with(client), False
        try:
            while True:
                time.sleep(BEAT_INTERVAL)
                with self._lock:
                    if not self._ids:
                        self._running = False
                        return
                    ids = self._ids
                if time.monotonic() - self.loop_seen > LOOP_STUCK_AFTER:
                    continue  # the loop is stuck: its answers go stale and are reaped
                try:
                    beat(ids)
                except Exception as exc:  # Redis away: the answers go on (see Answer._quietly)
                    if not failing:
                        log.warning("heartbeat of %d answer(s) failed: %s", len(ids), exc)
                    failing = True
                else:
                    failing = False
        finally:
            client.close()


class Beater(EveryAnswer):
    name = "beater"

    def __init__(self):
        super().__init__()
        self.seen: dict[str, int] = {}  # answer id -> its seq at the last look (no Redis)
        self.thread = BeatThread(settings.REDIS_URL) if settings.REDIS_URL else None

    def interval(self) -> float:
        return BEAT_INTERVAL

    def track(self, answer) -> None:
        super().track(answer)
        if self.thread is not None:
            self.thread.beat(tuple(self.answers))

    def forget(self, answer) -> None:
        super().forget(answer)
        if self.thread is not None:
            self.thread.beat(tuple(self.answers))

    async def tick(self) -> None:
        if self.thread is not None:
            self.thread.loop_seen = time.monotonic()  # the loop turns: the thread beats on
            return
        before, self.seen = self.seen, {answer_id: answer.seq for answer_id, answer in self.answers.items()}
        quiet = [answer_id for answer_id, seq in self.seen.items() if before.get(answer_id) == seq]
        if quiet:
            await get_store().beat(quiet)  # the in-process store: nothing to fail


# This event loop's beater (one per process under Daphne).
beater = per_loop(Beater)
