"""Answers over server-sent events, for clients without WebSockets (and `curl -N`).

One code path with the socket: the body is checked by protocol.parse_message_send and
the answer started by sending.send_message, so limits, errors, idempotency and the
generation machinery are the socket's. The stream subscribes to the conversation's
group *before* sending, relays that send's frames (`event: <type>`, `data: <frame>`)
and ends after its answer's `message.done`. The answer runs in its own task: a client
that hangs up does not stop it (POST .../stop/ does).
"""
import asyncio
import contextlib
import json
from uuid import UUID

from channels.db import database_sync_to_async
from django.http import StreamingHttpResponse
from ninja import Router, Status

from . import actions, fanout, history, protocol, recovery, selectors, sending
from .api_errors import not_found
from .api_schemas import ErrorOut, MessageSendIn
from .models import Message
from .tasks import detached

router = Router(tags=["answers"])

# A comment line after this much silence keeps proxies from closing the stream.
KEEPALIVE_SECONDS = 15.0

SSE_RESPONSES = {
    200: {
        "description": "`text/event-stream`: `conversation.updated` (a new or newly titled chat), "
                       "`message.created` (question, then answer), `message.delta`..., `message.done`.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut,
          429: ErrorOut, 503: ErrorOut}


class Listener:
    """A conversation's frames for one stream (or a delete waiting for an answer's end),
    queued as they arrive from the process's fan-out hub (chat.fanout)."""

    def __init__(self, owner_id, conversation_id):
        self.answer_id: str | None = None  # once set, the queue also ends after its done
        self.group = fanout.conversation_group(owner_id, conversation_id)
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.subscribed = False

    async def open(self) -> "Listener":
        await fanout.subscribe(self.group, self._deliver)
        self.subscribed = True
        return self

    async def _deliver(self, text: str) -> None:
        self.queue.put_nowait(text)
        if self.answer_id and self.answer_id in text and done_id(text) == self.answer_id:
            await self.close()  # even if the response is never read, nothing is left behind

    async def next(self, timeout: float) -> str | None:
        """The next encoded frame; "" after `timeout` s of silence; None once closed."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return ""

    async def wait_done(self, answer_ids: set[str], timeout: float) -> bool:
        """Wait for the message.done of every answer in `answer_ids`; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiting = set(answer_ids)
        while waiting and (left := deadline - loop.time()) > 0:
            text = await self.next(left)
            if text is None:
                return False
            if text:
                waiting.discard(done_id(text))
        return not waiting

    async def close(self) -> None:
        if self.subscribed:
            self.subscribed = False
            self.queue.put_nowait(None)  # the stream falls back to the database
            with contextlib.suppress(Exception):
                await fanout.unsubscribe(self.group, self._deliver)


def done_id(text: str) -> str | None:
    """The message id of an encoded `message.done` frame; None for any other frame."""
    if protocol.MESSAGE_DONE not in text:
        return None  # cheap test first: most frames are deltas
    frame = json.loads(text)
    return frame["message"]["id"] if frame.get("type") == protocol.MESSAGE_DONE else None


def sse_event(frame_type: str, data: str) -> str:
    return f"event: {frame_type}\ndata: {data}\n\n"


def sse_response(events) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@router.post("{conversation_id}/messages/", response=ERRORS, openapi_extra={"responses": SSE_RESPONSES},
             summary="Send a message and stream its answer as server-sent events")
async def message_send(request, conversation_id: UUID, body: MessageSendIn):
    user = request.auth
    send = protocol.parse_message_send(body.model_dump(exclude_unset=True))
    access = await database_sync_to_async(selectors.conversation_access)(
        user=user, conversation_id=conversation_id
    )
    if access is selectors.Access.OTHER:
        raise not_found()
    recovery.ensure_reaper()
    listener = await Listener(user.pk, conversation_id).open()  # before sending: no frame can slip by
    try:
        # Shielded: a client hanging up now must not cancel the send half-way; detached,
        # because the shielded send may outlive this request's context (the answer task it
        # launches gets a fresh context from generation.launch itself).
        opened = await asyncio.shield(
            detached(sending.send_message(user=user, conversation_id=conversation_id, send=send))
        )
    except BaseException:
        await listener.close()
        raise
    if opened.duplicate:
        await listener.close()
        frames = await database_sync_to_async(_earlier_frames)(opened.user_message)
        return sse_response(_replay(frames))
    listener.answer_id = str(opened.answer.id)
    return sse_response(_follow(listener, opened))


def _earlier_frames(question: Message) -> list[dict]:
    """A repeated client_id: the earlier message and, if it has ended, its answer's end."""
    frames = [protocol.message_created_frame(question)]
    answer = question.children.order_by("created_at", "id").first()
    if answer is not None and answer.status != Message.Status.STREAMING:
        frames.append(protocol.message_done_frame(answer))
    return frames


async def _replay(frames: list[dict]):
    for frame in frames:
        yield sse_event(frame["type"], protocol.encode(frame))


async def _follow(listener: Listener, opened):
    """Relay this send's frames until its answer's message.done."""
    answer_id = str(opened.answer.id)
    mine = {str(opened.user_message.id), answer_id}
    deltas = protocol.delta_head(answer_id)
    try:
        while True:
            text = await listener.next(KEEPALIVE_SECONDS)
            if not text:
                ended = await _ended(answer_id)
                if ended is not None:  # its done frame was lost, or the pump failed
                    if ended:
                        yield sse_event(protocol.MESSAGE_DONE, protocol.encode(protocol.message_done_frame(ended)))
                    return
                if text is None:
                    await asyncio.sleep(1)
                    continue
                yield ": keep-alive\n\n"
                continue
            if text.startswith(deltas):  # nearly every frame: relayed as it is, not decoded
                yield sse_event(protocol.MESSAGE_DELTA, text)
                continue
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == protocol.MESSAGE_DELTA:
                relay = False  # another message's
            elif kind in (protocol.MESSAGE_CREATED, protocol.MESSAGE_DONE):
                relay = frame["message"]["id"] in mine
            else:
                relay = kind == protocol.CONVERSATION_UPDATED
            if relay:
                yield sse_event(kind, text)
            if kind == protocol.MESSAGE_DONE and frame["message"]["id"] == answer_id:
                return
    finally:
        await listener.close()


async def _ended(answer_id: str) -> Message | bool | None:
    """The answer's final row if it has ended; False if it is gone; None while it streams."""
    answer = await Message.objects.filter(id=answer_id).afirst()
    if answer is None:
        return False
    return None if answer.status == Message.Status.STREAMING else answer


@router.post("{conversation_id}/stop/", response={202: None, **ERRORS},
             summary="Stop the running answer of a conversation; it ends `stopped` with its text")
async def answer_stop(request, conversation_id: UUID):
    if await database_sync_to_async(history.owned)(user=request.auth, conversation_id=conversation_id) is None:
        raise not_found()
    await actions.stop(user=request.auth, conversation_id=conversation_id)
    return Status(202, None)
