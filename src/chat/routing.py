"""Socket paths. A conversation id is a UUID in any letter case (as the HTTP API takes it),
normalized to a uuid.UUID; any other path is accepted and closed with 4004, not a handshake
error from an unmatched route."""
import uuid

from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import path, re_path, register_converter

from . import protocol
from .consumers import ChatConsumer


class AnyCaseUUIDConverter:
    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(AnyCaseUUIDConverter, "anycase_uuid")


class NoSuchPath(AsyncWebsocketConsumer):
    """Accept first: a close code only reaches the browser after the handshake."""

    async def connect(self):
        await self.accept()
        await self.close(protocol.CLOSE_NO_SUCH_PATH)


websocket_urlpatterns = [
    path("ws/chat/<anycase_uuid:conversation_id>/", ChatConsumer.as_asgi()),
    re_path(r"", NoSuchPath.as_asgi()),
]
