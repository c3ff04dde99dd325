"""Partial text of streaming answers: saved for every answer of a process in one statement.

All ORM calls of a process queue on one thread, so one UPDATE per answer per second would
grow with the number of answers running; instead, once per CHAT_SAVE_INTERVAL, one
bulk UPDATE carries the text of every answer of this process that grew since its last
save. The UPDATE only touches rows still `streaming`, so a save that runs after an
answer's final save cannot overwrite it.
"""
import logging

from django.conf import settings

from serving.connections import orm_call

from . import services
from .tasks import EveryAnswer, per_loop

log = logging.getLogger(__name__)


class PartialSaver(EveryAnswer):
    name = "partial-saver"

    def interval(self) -> float:
        return settings.CHAT_SAVE_INTERVAL

    async def tick(self) -> None:
        await self.save_now()

    async def save_now(self) -> int:
        """Save every tracked answer whose text grew; returns how many rows were sent."""
        rows = []
        for answer in list(self.answers.values()):
            content, reasoning, seq = answer.text_so_far()
            if seq != answer.saved_seq:
                rows.append((answer.id, content, reasoning, seq))
                answer.saved_seq = seq
        if rows:
            try:
                await orm_call(services.answers_save_partial, rows=rows)
            except Exception as exc:  # the final save still comes; the next tick retries
                log.warning("partial save of %d answer(s) failed: %s", len(rows), exc)
                for answer_id, *_ in rows:
                    if answer_id in self.answers:
                        self.answers[answer_id].saved_seq = -1
        return len(rows)


# This event loop's saver (one per process under Daphne).
saver = per_loop(PartialSaver)
