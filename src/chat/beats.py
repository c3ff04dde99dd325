"""Heartbeats of the answers a process runs, for all of them in one call.

An answer's live state carries the time of its last sign of life (chat.state), and every
frame it publishes renews it. Twice a second, the answers that published nothing since the
last look get a beat here, all in one call: sixty answers waiting on their models cost one
call, not sixty, and no answer's publishing loop keeps a timer of its own (a timeout around
each wait for tokens was 1.6 % of a process's CPU at L2, 2026-12-07). A beat older than
CHAT_STALE_AFTER means the process is gone (chat.recovery); here it is at most about a
second old.
"""
import logging

from .state import get_store
from .tasks import EveryAnswer, per_loop

log = logging.getLogger(__name__)

BEAT_INTERVAL = 0.5


class Beater(EveryAnswer):
    name = "beater"

    def __init__(self):
        super().__init__()
        self.seen: dict[str, int] = {}  # answer id -> its seq at the last look
        self.failing = False

    def interval(self) -> float:
        return BEAT_INTERVAL

    async def tick(self) -> None:
        before, self.seen = self.seen, {answer_id: answer.seq for answer_id, answer in self.answers.items()}
        quiet = [answer_id for answer_id, seq in self.seen.items() if before.get(answer_id) == seq]
        if not quiet:
            return
        try:
            await get_store().beat(quiet)
        except Exception as exc:  # Redis away: the answers go on (see Answer._quietly)
            if not self.failing:
                log.warning("heartbeat of %d answer(s) failed: %s", len(quiet), exc)
            self.failing = True
        else:
            self.failing = False


# This event loop's beater (one per process under Daphne).
beater = per_loop(Beater)
