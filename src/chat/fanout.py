"""Channel-layer groups: every socket (and SSE stream) of a conversation, on any process.

Group names are not secrets: whoever can name a group can join it, and a socket may sit
on a conversation id before anyone created it. So every group is named by the owner
*and* the conversation: a socket joins the group of its own user, and frames go to the
group of the conversation's owner. Another user's socket on the same id listens to a
group nobody ever publishes to, whoever came first.
"""
from channels.layers import get_channel_layer

from . import protocol

FRAME_EVENT = "chat.frame"  # handled by ChatConsumer.chat_frame
STOP_EVENT = "answer.stop"


def conversation_group(owner_id, conversation_id) -> str:
    return f"chat.{owner_id}.{conversation_id}"


def stop_group(owner_id, conversation_id) -> str:
    """Joined by the task of a running answer, wherever it runs."""
    return f"chat.stop.{owner_id}.{conversation_id}"


async def publish(owner_id, conversation_id, frame: dict) -> None:
    """Send one server frame to every listener of the owner's conversation; encoded once."""
    await get_channel_layer().group_send(
        conversation_group(owner_id, conversation_id),
        {"type": FRAME_EVENT, "text": protocol.encode(frame)},
    )


async def request_stop(owner_id, conversation_id) -> None:
    await get_channel_layer().group_send(stop_group(owner_id, conversation_id), {"type": STOP_EVENT})
