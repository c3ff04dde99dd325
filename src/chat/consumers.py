"""The chat socket: authenticate, validate a frame, call an action, send. Nothing else.

Answers never run inside receive(): actions start them in their own tasks, so this
consumer stays free to take generation.stop and disconnect at any moment.
"""
import contextlib
import logging
from collections import Counter

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.sessions import InstanceSessionWrapper
from django.conf import settings

from accounts.sessions import session_user_id

from . import actions, fanout, protocol, recovery, sending, services

log = logging.getLogger(__name__)

# Sockets open per user on this process: every frame of a conversation costs one send
# per socket, so one user's fan-out is capped before it can starve everyone else.
_sockets_per_user: Counter = Counter()


def sockets_open() -> int:
    """Chat sockets open on this process (authenticated and accepted; metrics)."""
    return sum(_sockets_per_user.values())


class ChatConsumer(AsyncWebsocketConsumer):
    conversation_id = None
    group = None
    held = None
    counted_user = None
    # The last snapshot found no conversation and no frame came since (a new chat): a send
    # need not look again (chat.sending). A guess gone stale costs only a second try: the
    # conversation's INSERT fails, and that try looks under lock.
    known_empty = False

    async def connect(self):
        # Accept first: a close code only reaches the browser after the handshake.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(protocol.CLOSE_UNAUTHENTICATED)
            return
        if _sockets_per_user[user.pk] >= settings.CHAT_MAX_SOCKETS_PER_USER:
            await self.close(protocol.CLOSE_TOO_MANY_SOCKETS)
            return
        self.counted_user = user.pk
        _sockets_per_user[user.pk] += 1
        recovery.ensure_reaper()  # listeners here hear of answers of dead processes
        self.conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        # The group of this user's conversation of that id (see fanout): if another user
        # owns it, or creates it later, nothing of theirs is ever published here, so joining
        # comes first and the snapshot's read is also the ownership check (4003).
        # Join before reading the snapshot, so no delta falls between the two.
        self.group = fanout.conversation_group(user.pk, self.conversation_id)
        self.held = []  # frames wait behind the snapshot, which may already contain them
        await fanout.subscribe(self.group, self.deliver_frame)
        try:
            await self.send_snapshot(user)
        except services.NotOwner:  # another user's conversation
            await self.close(protocol.CLOSE_FORBIDDEN)

    async def __call__(self, scope, receive, send):
        # AuthMiddlewareStack's session wrapper reads the session at every message sent, to
        # save it with an HTTP response; a socket never sends one, so its frames go past it
        # (every delta to every socket went through it: 1.5 % of a process's CPU at L2).
        wrapper = getattr(send, "__self__", None)
        if isinstance(wrapper, InstanceSessionWrapper):
            send = wrapper.real_send
        try:
            await super().__call__(scope, receive, send)
        finally:  # also when the consumer died without a disconnect (its channel layer failed)
            await self.release()

    async def disconnect(self, code):
        await self.release()

    async def release(self):
        """Give back this socket's place in the per-user count and its subscription (once)."""
        if self.counted_user is not None:
            _sockets_per_user[self.counted_user] -= 1
            if _sockets_per_user[self.counted_user] <= 0:
                del _sockets_per_user[self.counted_user]
            self.counted_user = None
        if self.group:
            group, self.group = self.group, None
            with contextlib.suppress(Exception):
                await fanout.unsubscribe(group, self.deliver_frame)

    async def receive(self, text_data=None, bytes_data=None):
        if self.group is None:
            return  # closing already
        user = self.scope["user"]
        session_key = getattr(self.scope.get("session"), "session_key", None)
        try:
            frame = protocol.parse_client_frame(text_data)
        except protocol.ProtocolError as refusal:
            frame = refusal
        try:
            if isinstance(frame, protocol.MessageSend):  # checks the session in its first hop
                await self.send_message(user, frame, session_key)
                return
            if await database_sync_to_async(session_user_id)(session_key, expected=user.pk) != user.pk:
                raise sending.SessionEnded
            if isinstance(frame, protocol.ProtocolError):
                raise frame
            await self.dispatch_frame(user, frame)
        except sending.SessionEnded:
            await self.close(protocol.CLOSE_UNAUTHENTICATED)
        except protocol.ProtocolError as refusal:
            await self.send_frame(protocol.error_frame(refusal))
        except services.NotOwner:
            await self.close(protocol.CLOSE_FORBIDDEN)
        except Exception:
            log.exception("frame failed in conversation %s", self.conversation_id)
            await self.send_frame(protocol.error_frame(
                protocol.ProtocolError(protocol.INTERNAL, "Something went wrong on the server.")
            ))

    async def send_message(self, user, frame: protocol.MessageSend, session_key):
        known_empty, self.known_empty = self.known_empty, False
        opened = await sending.send_message(
            user=user, conversation_id=self.conversation_id, send=frame, check_session=True, session_key=session_key,
            known_empty=known_empty,
        )
        if opened.duplicate:  # tell only this socket what it already sent
            await self.send_frame(protocol.message_created_frame(opened.user_message))

    async def dispatch_frame(self, user, frame):
        if isinstance(frame, protocol.GenerationStop):
            await actions.stop(user=user, conversation_id=self.conversation_id)
        elif isinstance(frame, protocol.MessageRegenerate):
            await actions.regenerate(user=user, conversation_id=self.conversation_id, message_id=frame.message_id)
        elif isinstance(frame, protocol.BranchSwitch):
            await actions.switch_branch(user=user, conversation_id=self.conversation_id, message_id=frame.message_id)
        elif isinstance(frame, protocol.ConversationSync):
            # Frames this socket got that the live state may not hold yet come again after
            # the snapshot, which might otherwise end before them (fanout.in_flight).
            self.held = fanout.in_flight(self.group)
            await self.send_snapshot(user)

    async def send_frame(self, frame: dict):
        await self.send(text_data=protocol.encode(frame))

    async def send_snapshot(self, user):
        """The snapshot, then the frames published while it was read (`held`), in order:
        a snapshot plus the frames after it add up to the whole state."""
        try:
            snapshot = await actions.snapshot(user.pk, self.conversation_id)
            self.known_empty = snapshot["conversation"] is None and not self.held
            await self.send_frame(snapshot)
        finally:
            held, self.held = self.held, None
            for text in held or ():
                await self.send(text_data=text)

    async def deliver_frame(self, text: str):
        """A frame of the conversation (fanout), already encoded once."""
        self.known_empty = False
        if self.held is not None:
            self.held.append(text)
        else:
            await self.send(text_data=text)
