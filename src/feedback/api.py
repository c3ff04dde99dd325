"""Feedback over the HTTP API: rate an answer, withdraw the rating, read a conversation's.

Every change goes to the owner's other tabs as a `message.feedback` frame (chat.fanout).
Mounted on chat's NinjaAPI by FeedbackConfig.ready(); documented in docs/api.md.
"""
from typing import Literal
from uuid import UUID

from channels.db import database_sync_to_async
from ninja import Field, Router, Schema
from pydantic import ConfigDict

from chat import fanout
from chat.api_errors import ApiError
from chat.api_schemas import ErrorOut

from . import selectors, services
from .protocol import COMMENT_MAX, feedback_frame, feedback_json

messages_router = Router(tags=["feedback"])
conversations_router = Router(tags=["feedback"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class FeedbackIn(Schema):
    model_config = ConfigDict(extra="forbid")

    rating: Literal["up", "down"]
    reason: str | None = Field(None, description="One of the reasons that go with the rating (docs/api.md).")
    comment: str | None = Field(None, description=f"At most {COMMENT_MAX} characters.")


class FeedbackOut(Schema):
    rating: Literal["up", "down"]
    reason: str | None
    comment: str
    updated_at: str


class MessageFeedbackOut(Schema):
    message_id: str
    feedback: FeedbackOut | None


class ConversationFeedbackOut(Schema):
    items: dict[str, FeedbackOut] = Field(..., description="The user's ratings, by message id.")


def _not_rateable() -> ApiError:
    return ApiError(404, "not_found", "No such answer.")


async def _announce(user, message, feedback) -> dict:
    frame = feedback_frame(message.id, feedback)
    await fanout.publish(user.pk, message.conversation_id, frame)
    return {"message_id": frame["message_id"], "feedback": frame["feedback"]}


@messages_router.put("{message_id}/feedback/", response={200: MessageFeedbackOut, **ERRORS},
                     summary="Rate an answer of yours, or change its rating")
async def feedback_put(request, message_id: UUID, body: FeedbackIn):
    try:
        message, feedback = await database_sync_to_async(services.feedback_set)(
            user=request.auth, message_id=message_id, rating=body.rating, reason=body.reason, comment=body.comment,
        )
    except services.NotRateable:
        raise _not_rateable() from None
    except services.InvalidFeedback as exc:
        raise ApiError(422, "invalid", f"Invalid input: {exc}.") from None
    return await _announce(request.auth, message, feedback)


@messages_router.delete("{message_id}/feedback/", response={200: MessageFeedbackOut, **ERRORS},
                        summary="Withdraw your rating of an answer")
async def feedback_delete(request, message_id: UUID):
    try:
        message, _ = await database_sync_to_async(services.feedback_withdraw)(
            user=request.auth, message_id=message_id)
    except services.NotRateable:
        raise _not_rateable() from None
    return await _announce(request.auth, message, None)


@conversations_router.get("{conversation_id}/feedback/", response={200: ConversationFeedbackOut, **ERRORS},
                          summary="Your ratings of a conversation's answers")
async def conversation_feedback(request, conversation_id: UUID):
    rows = await database_sync_to_async(selectors.conversation_feedback)(
        user=request.auth, conversation_id=conversation_id)
    return {"items": {message_id: feedback_json(row) for message_id, row in rows.items()}}
