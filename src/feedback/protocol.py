"""Feedback's additions to the wire contract: one server frame, the reasons, the JSON shape.

Mirrored in frontend/src/features/feedback/protocol.ts; documented in docs/protocol.md.
"""
from .models import Feedback

# Server -> client, through the conversation's fan-out (every tab of the owner): a rating
# was set, changed (`feedback` holds it) or withdrawn (`feedback` is null).
MESSAGE_FEEDBACK = "message.feedback"

COMMENT_MAX = 2000

# Which reasons go with which rating (a reason is optional).
REASONS: dict[str, tuple[str, ...]] = {
    Feedback.Rating.UP: (Feedback.Reason.HELPFUL, Feedback.Reason.ACCURATE, Feedback.Reason.WELL_WRITTEN),
    Feedback.Rating.DOWN: (Feedback.Reason.INACCURATE, Feedback.Reason.UNHELPFUL, Feedback.Reason.INCOMPLETE,
                           Feedback.Reason.UNSAFE, Feedback.Reason.OTHER),
}


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def feedback_json(feedback: Feedback | None) -> dict | None:
    if feedback is None:
        return None
    return {
        "rating": feedback.rating,
        "reason": feedback.reason or None,
        "comment": feedback.comment,
        "updated_at": _iso(feedback.updated_at),
    }


def feedback_frame(message_id, feedback: Feedback | None) -> dict:
    return {"type": MESSAGE_FEEDBACK, "message_id": str(message_id), "feedback": feedback_json(feedback)}
