"""Titles by the model: after a new conversation's first answer completes, its model is
asked for a short title in a task of its own (never inside a consumer's receive, never
holding up an answer), bounded by CHAT_TITLE_TIMEOUT.

The first-message title stands until then; a failed or empty title request leaves it;
a rename always wins (services.conversation_title_by_model is a conditional UPDATE).
The new title reaches every socket of the owner through fanout, on every process.
"""
import asyncio
import logging

from channels.db import database_sync_to_async
from django.conf import settings

from llm.titles import ask_title

from . import fanout, protocol, services
from .generation import Answer
from .models import Message
from .tasks import detached

log = logging.getLogger(__name__)

_titling: set[asyncio.Task] = set()  # asyncio keeps only weak references to tasks


def title_after(answer: Answer, *, question: str) -> asyncio.Task:
    """Once `answer` (launched) completes, ask its model to title the conversation."""
    task = detached(_title_after(answer, question), name=f"title-{answer.conversation_id}")
    _titling.add(task)
    task.add_done_callback(_titling.discard)
    return task


async def _title_after(answer: Answer, question: str) -> None:
    await asyncio.wait({answer.task})  # not `await answer.task`: cancelling us must not stop it
    message = None if answer.task.cancelled() else answer.task.result()
    if message is None or message.status != Message.Status.COMPLETE or not message.content:
        return
    try:
        async with asyncio.timeout(settings.CHAT_TITLE_TIMEOUT):
            title = await ask_title(answer.provider, question, message.content)
    except Exception as exc:  # UpstreamError, TimeoutError, anything: the title stays
        log.info("conversation %s keeps its title: the title request failed (%r)", answer.conversation_id, exc)
        return
    if not title:
        return
    try:
        conversation = await database_sync_to_async(services.conversation_title_by_model)(
            conversation_id=answer.conversation_id, title=title
        )
        if conversation is not None:
            await fanout.publish(answer.owner_id, answer.conversation_id,
                                 protocol.conversation_updated_frame(conversation))
    except Exception:
        log.exception("conversation %s: the model's title could not be stored or announced",
                      answer.conversation_id)


async def wait_all(timeout: float = 10) -> None:
    """Wait for the title requests under way (tests)."""
    if _titling:
        await asyncio.wait(list(_titling), timeout=timeout)
