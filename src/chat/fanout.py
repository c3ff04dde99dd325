"""Channel-layer groups: every socket (and SSE stream) of a conversation, on any process."""
from channels.layers import get_channel_layer

from . import protocol

FRAME_EVENT = "chat.frame"  # handled by ChatConsumer.chat_frame
STOP_EVENT = "answer.stop"


def conversation_group(conversation_id) -> str:
    return f"chat.{conversation_id}"


def stop_group(conversation_id) -> str:
    """Joined by the task of a running answer, wherever it runs."""
    return f"chat.stop.{conversation_id}"


async def publish(conversation_id, frame: dict) -> None:
    """Send one server frame to every listener of the conversation; encoded once."""
    await get_channel_layer().group_send(
        conversation_group(conversation_id), {"type": FRAME_EVENT, "text": protocol.encode(frame)}
    )


async def request_stop(conversation_id) -> None:
    await get_channel_layer().group_send(stop_group(conversation_id), {"type": STOP_EVENT})
