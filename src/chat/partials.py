"""Partial text of streaming answers: saved for every answer of a process in one statement.

All ORM calls of a process queue on one thread, so one UPDATE per answer per second would
grow with the number of answers running; instead, once per CHAT_SAVE_INTERVAL, one
bulk UPDATE carries the text of every answer of this process that grew since its last
save. The UPDATE only touches rows still `streaming`, so a save that runs after an
answer's final save cannot overwrite it.
"""
import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from . import services
from .tasks import detached

log = logging.getLogger(__name__)


class PartialSaver:
    def __init__(self):
        self.answers: dict = {}  # answer id -> generation.Answer
        self.task: asyncio.Task | None = None
        self.sleeping = False

    def track(self, answer) -> None:
        self.answers[answer.id] = answer
        if self.task is None or self.task.done():
            self.task = detached(self._run(), name="partial-saver")

    def forget(self, answer) -> None:
        self.answers.pop(answer.id, None)
        if not self.answers and self.task is not None and self.sleeping:
            self.task.cancel()  # nothing left to save: no task outlives the last answer

    async def _run(self) -> None:
        while self.answers:
            self.sleeping = True
            try:
                await asyncio.sleep(settings.CHAT_SAVE_INTERVAL)
            finally:
                self.sleeping = False
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
                await database_sync_to_async(services.answers_save_partial)(rows=rows)
            except Exception as exc:  # the final save still comes; the next tick retries
                log.warning("partial save of %d answer(s) failed: %s", len(rows), exc)
                for answer_id, *_ in rows:
                    if answer_id in self.answers:
                        self.answers[answer_id].saved_seq = -1
        return len(rows)


_savers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PartialSaver]" = weakref.WeakKeyDictionary()


def saver() -> PartialSaver:
    """This event loop's saver (one per process under Daphne)."""
    loop = asyncio.get_running_loop()
    if (found := _savers.get(loop)) is None:
        found = _savers[loop] = PartialSaver()
    return found
