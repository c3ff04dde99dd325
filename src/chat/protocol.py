"""The wire contract in one place: every frame and JSON shape, validated on the way in.

Client frames are parsed into small dataclasses or refused with a `ProtocolError`
carrying the contract's error code; server frames are built only by the functions
below, so their shapes cannot drift apart between the socket and SSE transports.
"""
import json
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from llm.catalogue import normalize_temperature

# --- Error codes (contract: "Error codes") -----------------------------------------
BAD_REQUEST = "bad_request"
TOO_LONG = "too_long"
BUSY = "busy"
RATE_LIMITED = "rate_limited"
TOO_MANY_ANSWERS = "too_many_answers"  # addition: CHAT_MAX_ANSWERS_PER_USER running already
INTERNAL = "internal"
# Addition: this server process is shutting down (SIGTERM) and starts no new answer; nothing
# was stored. Send again on another connection (over HTTP: 503 with Retry-After).
UNAVAILABLE = "unavailable"
# Addition: a model the server does not offer (never did, or the operator withdrew it);
# nothing was stored. Pick another (GET /api/models/).
UNKNOWN_MODEL = "unknown_model"
# HTTP API only: a request body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (HTTP 413).
TOO_LARGE = "too_large"

# --- server frame types (also the SSE event names) -----------------------------------------
CONVERSATION_SNAPSHOT = "conversation.snapshot"
CONVERSATION_UPDATED = "conversation.updated"
MESSAGE_CREATED = "message.created"
MESSAGE_DELTA = "message.delta"
MESSAGE_DONE = "message.done"
ERROR = "error"

# --- WebSocket close codes (contract: "WebSocket") ---------------------------------------
CLOSE_UNAUTHENTICATED = 4001
CLOSE_FORBIDDEN = 4003  # another user's conversation
CLOSE_TOO_MANY_SOCKETS = 4029  # addition: CHAT_MAX_SOCKETS_PER_USER open on this process
# A socket path that is no conversation (not /ws/chat/<uuid>/): accepted, then closed.
CLOSE_NO_SUCH_PATH = 4004
# A client frame over the server's message size limit (1 MiB): RFC 6455 "message too big",
# sent by Daphne's WebSocket layer itself (see config/ws_server.py).
CLOSE_MESSAGE_TOO_BIG = 1009
# This server process is shutting down (SIGTERM, serving.drain): RFC 6455 "service restart".
# Reconnect at once; a load balancer sends the new socket to another process, where the
# answers of this one go on (snapshot + deltas).
CLOSE_SERVICE_RESTART = 1012

CLIENT_ID_MAX = 100
MODEL_ID_MAX = 200
SYSTEM_PROMPT_MAX = 8000  # characters of a conversation's own system prompt
# A conversation's settings, given in message.send (addition) and PATCH .../<id>/.
SETTINGS_FIELDS = ("model", "system_prompt", "temperature")


class ProtocolError(Exception):
    """A refused client frame; becomes an `error` frame, the socket stays open."""

    def __init__(self, code: str, message: str, *, client_id: str | None = None,
                 retry_after: float | None = None, details: dict | None = None,
                 http_status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_id = client_id
        self.retry_after = retry_after
        # Refusals declared by other apps (e.g. usage's quota_exceeded): extra fields of the
        # error frame (and of the HTTP error body), and the HTTP status they answer with.
        self.details = details
        self.http_status = http_status


# --- Client -> server ---------------------------------------------------------------
@dataclass(frozen=True)
class MessageSend:
    content: str
    client_id: str | None = None
    # Addition: the answer the question follows (None: a new first message). Not given
    # (parent_given False): it continues the conversation's shown branch.
    parent_id: uuid.UUID | None = None
    parent_given: bool = False
    # Addition: the conversation's settings to use from this send on, those given only
    # (model: str, system_prompt: str, temperature: float | None); see parse_settings.
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationStop:
    pass


@dataclass(frozen=True)
class MessageRegenerate:
    # Addition: the answer to write again (or the question to answer again); by default
    # the shown branch's last question.
    message_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ConversationSync:
    pass


@dataclass(frozen=True)
class BranchSwitch:
    """Addition: show the branch through `message_id` (to its newest descendant)."""

    message_id: uuid.UUID


ClientFrame = MessageSend | GenerationStop | MessageRegenerate | ConversationSync | BranchSwitch

_NO_FIELD_FRAMES = {
    "generation.stop": GenerationStop,
    "conversation.sync": ConversationSync,
}


def parse_client_frame(text: str | None) -> ClientFrame:
    """Decode and validate one client text frame, or raise ProtocolError."""
    if text is None:
        raise ProtocolError(BAD_REQUEST, "Frames must be JSON text, not binary.")
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and an integer of more than 4,300 digits
        # (Python's int conversion limit), e.g. `"client_id": 1111...`.
        raise ProtocolError(BAD_REQUEST, "The frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise ProtocolError(BAD_REQUEST, "A frame must be a JSON object with a \"type\".")
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(BAD_REQUEST, "The frame has no \"type\" string.")
    if kind == "message.send":
        return parse_message_send(frame)
    if kind in _NO_FIELD_FRAMES:
        _reject_unknown(frame, {"type"})
        return _NO_FIELD_FRAMES[kind]()
    if kind == "message.regenerate":
        _reject_unknown(frame, {"type", "message_id"})
        return MessageRegenerate(message_id=_message_id(frame, "message_id", required=False))
    if kind == "branch.switch":
        _reject_unknown(frame, {"type", "message_id"})
        return BranchSwitch(message_id=_message_id(frame, "message_id", required=True))
    raise ProtocolError(BAD_REQUEST, f"Unknown frame type {kind[:50]!r}.")


def _message_id(body: dict, name: str, *, required: bool, client_id: str | None = None) -> uuid.UUID | None:
    """A message id field: a UUID string, or null/absent where not required."""
    value = body.get(name)
    if value is None and not required:
        return None
    try:
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError
        return uuid.UUID(value)
    except ValueError:
        raise ProtocolError(BAD_REQUEST, f"\"{name}\" must be a message id (a UUID string).",
                            client_id=client_id) from None


def parse_message_send(body: dict[str, Any]) -> MessageSend:
    """Validate a `message.send` frame (or the SSE endpoint's body, which has no type)."""
    client_id = body.get("client_id")
    if client_id is not None and (not isinstance(client_id, str) or not client_id.strip()
                                  or len(client_id) > CLIENT_ID_MAX):
        raise ProtocolError(
            BAD_REQUEST, f"\"client_id\" must be a non-empty string of at most {CLIENT_ID_MAX} characters."
        )
    _reject_unknown(body, {"type", "content", "client_id", "parent_id", *SETTINGS_FIELDS}, client_id=client_id)
    parent_id = _message_id(body, "parent_id", required=False, client_id=client_id)
    content = body.get("content")
    if not isinstance(content, str):
        raise ProtocolError(BAD_REQUEST, "\"content\" must be a string.", client_id=client_id)
    if is_blank(content):
        raise ProtocolError(BAD_REQUEST, "The message is blank.", client_id=client_id)
    if unstorable(content) or (client_id is not None and unstorable(client_id)):
        raise ProtocolError(
            BAD_REQUEST, "The message contains a NUL character or an unpaired surrogate.",
            client_id=None if client_id is not None and unstorable(client_id) else client_id,
        )
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(content) > limit:
        raise ProtocolError(
            TOO_LONG, f"The message has {len(content)} characters; the limit is {limit}.",
            client_id=client_id,
        )
    return MessageSend(content=content, client_id=client_id, parent_id=parent_id,
                       parent_given="parent_id" in body, settings=parse_settings(body, client_id=client_id))


def parse_settings(body: dict[str, Any], *, client_id: str | None = None) -> dict:
    """The settings fields `body` holds, checked: `model` a non-empty id (whether it is
    offered is the action's check), `system_prompt` a string ("" for none), `temperature`
    a number in 0..2 (kept to 0.1 steps) or null for the model's default."""
    chosen = {}
    if "model" in body:
        model = body["model"]
        if not isinstance(model, str) or not model.strip() or len(model) > MODEL_ID_MAX or unstorable(model):
            raise ProtocolError(BAD_REQUEST, f"\"model\" must be a model id of 1 to {MODEL_ID_MAX} characters.",
                                client_id=client_id)
        chosen["model"] = model
    if "system_prompt" in body:
        prompt = body["system_prompt"]
        if not isinstance(prompt, str) or unstorable(prompt):
            raise ProtocolError(BAD_REQUEST, "\"system_prompt\" must be a string without NUL characters.",
                                client_id=client_id)
        if len(prompt) > SYSTEM_PROMPT_MAX:
            raise ProtocolError(TOO_LONG, f"The system prompt has {len(prompt)} characters; "
                                f"the limit is {SYSTEM_PROMPT_MAX}.", client_id=client_id)
        chosen["system_prompt"] = "" if is_blank(prompt) else prompt
    if "temperature" in body:
        try:
            chosen["temperature"] = normalize_temperature(body["temperature"])
        except ValueError as exc:
            raise ProtocolError(BAD_REQUEST, str(exc).replace("temperature", '"temperature"', 1),
                                client_id=client_id) from None
    return chosen


# Characters that show nothing but are not whitespace to str.strip(): fillers of the
# Hangul and Braille blocks (format characters, category Cf, are caught by category).
_INVISIBLE = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def is_blank(text: str) -> bool:
    """Nothing visible: whitespace, zero-width and other format characters (U+200B-U+200D,
    U+2060, U+FEFF, soft hyphens, direction marks), invisible fillers."""
    return all(ch.isspace() or ch in _INVISIBLE or unicodedata.category(ch) == "Cf" for ch in text)


def unstorable(text: str) -> bool:
    """NUL and lone surrogates: PostgreSQL refuses them, so refuse them on every database
    and every transport (titles over the API use it too)."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def _reject_unknown(frame: dict, allowed: set[str], client_id: str | None = None) -> None:
    unknown = sorted(set(frame) - allowed)
    if unknown:
        names = ", ".join(repr(str(name)[:40]) for name in unknown[:5])
        raise ProtocolError(BAD_REQUEST, f"Unknown field(s): {names}.", client_id=client_id)


# --- JSON shapes ------------------------------------------------------------------------
def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def conversation_json(conversation) -> dict:
    return {
        "id": str(conversation.id),
        "title": conversation.title,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        # Addition: where the shown branch ends (docs/protocol.md, "Branches").
        "active_leaf_id": str(conversation.active_leaf_id) if conversation.active_leaf_id else None,
        # Additions: organizing (docs/api.md, "Pin, archive, folders").
        "pinned": conversation.pinned_at is not None,
        "archived": conversation.archived_at is not None,
        "folder_id": str(conversation.folder_id) if conversation.folder_id else None,
        # Additions (docs/protocol.md): the conversation's settings; model null is the default.
        "model": conversation.model or None,
        "system_prompt": conversation.system_prompt,
        "temperature": conversation.temperature,
    }


def message_json(message) -> dict:
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "role": message.role,
        "content": message.content,
        "reasoning": message.reasoning,
        "status": message.status,
        "seq": message.seq,
        "error": message.error,
        "model": message.model,
        "usage": message.usage,
        "client_id": message.client_id,
        "parent_id": str(message.parent_id) if message.parent_id else None,
        "created_at": _iso(message.created_at),
        "context_omitted": message.context_omitted,  # addition to the contract (docs/api.md)
    }


# --- Server -> client -------------------------------------------------------------------
def snapshot_frame(conversation, messages) -> dict:
    return {
        "type": CONVERSATION_SNAPSHOT,
        "conversation": conversation_json(conversation) if conversation else None,
        "messages": [message_json(m) for m in messages],
    }


def message_created_frame(message) -> dict:
    return {"type": MESSAGE_CREATED, "message": message_json(message)}


def delta_frame(message_id: str, seq: int, part: str, delta: str) -> dict:
    return {"type": MESSAGE_DELTA, "message_id": message_id, "seq": seq, "part": part,
            "delta": delta}


def delta_head(message_id: str) -> str:
    """How every encoded delta frame of one message begins (delta_frame's key order, encode's
    separators), so a relay can pick its answer's deltas out of a conversation's frames
    without decoding each one."""
    return encode({"type": MESSAGE_DELTA, "message_id": message_id})[:-1] + ","


def message_done_frame(message) -> dict:
    return {"type": MESSAGE_DONE, "message": message_json(message)}


def conversation_updated_frame(conversation) -> dict:
    return {"type": CONVERSATION_UPDATED, "conversation": conversation_json(conversation)}


def error_frame(error: ProtocolError) -> dict:
    frame = {"type": ERROR, "code": error.code, "message": error.message}
    if error.client_id is not None:
        frame["client_id"] = error.client_id
    if error.retry_after is not None:
        frame["retry_after"] = error.retry_after
    if error.details:
        frame.update({key: value for key, value in error.details.items() if key not in frame})
    return frame


# One encoder for every frame: json.dumps() with options builds a new one per call.
_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def encode(frame: dict) -> str:
    """Compact JSON: Daphne has no permessage-deflate, so every byte goes on the wire."""
    return _encoder.encode(frame)
