"""Answers' usage, gathered in memory as they end and written for all of them at once.

The receiver of chat.signals.answer_ended runs on the event loop: it only notes the answer.
At most every USAGE_FLUSH_INTERVAL seconds one task counts what the upstream did not report
(in a worker thread: tiktoken on a long context takes milliseconds) and writes every noted
answer in one database call (usage.services.usage_add), like chat's partial saves.
A process killed outright loses at most that interval's usage.
"""
import asyncio
import logging
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from chat.tasks import detached
from llm import tokens

from . import quotas, services

log = logging.getLogger(__name__)


@dataclass
class Ended:
    user_id: int
    model: str
    day: object
    usage: object  # llm.Usage or None
    context: list
    text: str
    got_tokens: bool


class Recorder:
    def __init__(self):
        self.pending: list[Ended] = []
        self.task: asyncio.Task | None = None

    def note(self, ended: Ended) -> None:
        self.pending.append(ended)
        if self.task is None or self.task.done():
            self.task = detached(self._flush_later(), name="usage-flush")

    async def _flush_later(self) -> None:
        await asyncio.sleep(settings.USAGE_FLUSH_INTERVAL)
        await self.flush()

    async def flush(self) -> None:
        """Write everything noted so far (tests and shutdown call it directly)."""
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            tallies = await asyncio.to_thread(tally, batch)
            await database_sync_to_async(services.usage_add)(tallies=tallies)
        except Exception:
            log.exception("usage of %d answer(s) could not be stored", len(batch))
            return
        try:
            await quotas.add_tokens(tallies)
        except Exception:
            log.exception("tokens of %d answer(s) could not be counted against quotas", len(batch))


def tally(batch: list[Ended]) -> dict:
    """Sum a batch per (user, model, day); count tokens where the upstream said nothing."""
    tallies: dict = {}
    for ended in batch:
        entry = tallies.setdefault((ended.user_id, ended.model, ended.day), services.Tally())
        entry.answers += 1
        if ended.usage is not None:
            entry.input_tokens += ended.usage.input_tokens
            entry.output_tokens += ended.usage.output_tokens
        elif ended.got_tokens:
            entry.input_tokens += tokens.needed(ended.context)
            entry.output_tokens += tokens.count(ended.text)
            entry.counted_answers += 1
        else:  # nothing came back: nothing to count, and nothing reported
            entry.counted_answers += 1
    return tallies


_recorders: dict = {}


def recorder() -> Recorder:
    """One per event loop (its task belongs to that loop)."""
    loop = asyncio.get_running_loop()
    found = _recorders.get(loop)
    if found is None:
        _recorders.clear() if len(_recorders) > 8 else None  # loops of finished tests
        found = _recorders[loop] = Recorder()
    return found


async def flush_here() -> None:
    """Store what this loop's recorder holds now (the process is shutting down)."""
    await recorder().flush()


def on_answer_ended(sender, answer, message=None, **kwargs) -> None:
    content, reasoning, _ = answer.text_so_far()
    recorder().note(Ended(
        user_id=answer.owner_id, model=answer.provider.model, day=timezone.now().date(), usage=answer.usage,
        context=answer.context, text=content + reasoning, got_tokens=bool(answer.token_times),
    ))
