"""Request and response shapes of the HTTP API, for validation and the OpenAPI schema.

Responses are built by chat.protocol (`conversation_json`, `message_json`), the one
source of truth for the contract's JSON shapes; these classes only describe them.
Timestamps stay strings so they go out exactly as protocol formats them.
"""
from typing import Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict, field_validator, model_validator

from . import protocol
from .history import TITLE_MAX


def _storable(value: str) -> str:
    # A 422 on a title, not a database error (protocol.unstorable says why).
    if protocol.unstorable(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


class ErrorDetail(Schema):
    code: str = Field(..., examples=["not_found"])
    message: str
    details: list[dict] | None = Field(None, description="Validation failures, when there are any.")


class ErrorOut(Schema):
    error: ErrorDetail


class ConversationOut(Schema):
    id: str = Field(..., json_schema_extra={"format": "uuid"})
    title: str
    created_at: str = Field(..., description="ISO 8601, UTC")
    updated_at: str = Field(..., description="ISO 8601, UTC; last activity")
    active_leaf_id: str | None = Field(..., description="Where the shown branch ends (null before the first message).")
    pinned: bool
    archived: bool
    folder_id: str | None
    model: str | None = Field(..., description="Id of the conversation's model (GET /api/models/); null: the default.")
    system_prompt: str = Field(..., description="The conversation's own system prompt, after CHAT_SYSTEM_PROMPT.")
    temperature: float | None = Field(..., description="0 to 2; null: the model's default.")


class ConversationSummaryOut(ConversationOut):
    message_count: int
    preview: str = Field(..., description="Where `q` matched (~160 characters), else the start of the last message.")


class ConversationPageOut(Schema):
    items: list[ConversationSummaryOut]
    next_cursor: str | None = Field(..., description="Pass as `cursor` for the next page; null on the last page.")


class UsageOut(Schema):
    input_tokens: int
    output_tokens: int


class MessageOut(Schema):
    id: str
    conversation_id: str
    role: Literal["user", "assistant"]
    content: str
    reasoning: str
    status: Literal["complete", "streaming", "stopped", "error", "interrupted"]
    seq: int
    error: str | None
    model: str | None
    usage: UsageOut | None
    client_id: str | None
    parent_id: str | None
    created_at: str
    context_omitted: int = Field(..., description="On an answer: earlier messages left out of the model's context.")


class ConversationDetailOut(Schema):
    conversation: ConversationOut
    messages: list[MessageOut]


class MeOut(Schema):
    username: str


class ModelOut(Schema):
    id: str
    label: str


class ChoiceOut(Schema):
    model: str
    system_prompt: str
    temperature: float | None


class ModelsOut(Schema):
    models: list[ModelOut] = Field(..., description="The models users may pick; the first is the default.")
    default: ChoiceOut = Field(..., description="What a new chat of this user takes: their last choice.")


class ConversationPatchIn(Schema):
    """Any of the fields; only those given change. The settings are checked by
    chat.protocol.parse_settings, as in message.send."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, description=f"Trimmed; 1 to {TITLE_MAX} characters.")
    pinned: bool | None = Field(None, description="Pinned conversations top the sidebar.")
    archived: bool | None = Field(None, description="Archived ones leave the sidebar; the history page and search still find them.")
    folder_id: UUID | None = Field(None, description="One of the user's folders; null: no folder.")
    model: str | None = Field(None, description="A model id of GET /api/models/.")
    system_prompt: str | None = Field(None, description=f"At most {protocol.SYSTEM_PROMPT_MAX} characters; \"\": none.")
    temperature: float | None = Field(None, description="0 to 2 (kept to 0.1 steps); null: the model's default.")

    @model_validator(mode="after")
    def _something(self):
        if not self.model_fields_set:
            raise ValueError("nothing to change: give title, model, system_prompt, temperature, pinned, "
                             "archived or folder_id")
        for name in ("pinned", "archived"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} must be true or false")
        return self

    @field_validator("title")
    @classmethod
    def _clean_title(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("the title must be a string")
        value = _storable(value).strip()
        if protocol.is_blank(value):  # zero-width characters only, too
            raise ValueError("the title is blank")
        if len(value) > TITLE_MAX:
            raise ValueError(f"the title has {len(value)} characters; the limit is {TITLE_MAX}")
        return value


class MessageSendIn(Schema):
    """Described for the schema; chat.protocol.parse_message_send does the contract's checks."""

    model_config = ConfigDict(extra="forbid")

    # Text checks (blank, NUL, length) are parse_message_send's, so the socket and SSE refuse
    # the same input with the same code.
    content: str = Field(..., description="The user's message; not blank, at most CHAT_MAX_MESSAGE_CHARS.")
    client_id: str | None = Field(None, description="Makes the send idempotent per conversation (at most 100 characters).")
    parent_id: str | None = Field(None, description="The answer the question follows (null: a new first message, "
                                  "as an edit of the first one); not given: the shown branch goes on.")
    # Additions: the conversation's settings from this send on (as in PATCH .../<id>/).
    model: str | None = Field(None, description="A model id of GET /api/models/; unknown: 422 unknown_model.")
    system_prompt: str | None = Field(None, description="The conversation's own system prompt.")
    temperature: float | None = Field(None, description="0 to 2; null: the model's default.")


class BranchSwitchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    message_id: UUID = Field(..., description="Show the branch through this message, down to its newest descendant.")
