"""History routes: list and search, one conversation, rename, delete, export."""
from typing import Literal
from uuid import UUID

from channels.db import database_sync_to_async
from ninja import Query, Router, Status

from llm.catalogue import UnknownModel

from . import actions, choices, history, protocol
from .api_errors import ApiError, not_found
from .api_schemas import (
    BranchSwitchIn,
    ConversationDetailOut,
    ConversationOut,
    ConversationPageOut,
    ConversationPatchIn,
    ErrorOut,
    _storable,
)
from .api_sse import Listener
from .export import export_response

router = Router(tags=["conversations"])

STOP_WAIT = 3.0  # seconds a delete waits for a running answer to end
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get("", response={200: ConversationPageOut, 400: ErrorOut, **ERRORS},
            summary="List or search the user's conversations, newest activity first")
async def conversation_list(
    request,
    q: str = Query("", max_length=history.Q_MAX,
                   description="Matches titles and message text, case-insensitively."),
    limit: int = Query(history.PAGE_DEFAULT, ge=1, description=f"Page size; capped at {history.PAGE_MAX}."),
    cursor: str | None = Query(None, max_length=200, description="`next_cursor` of the previous page."),
    archived: bool | None = Query(None, description="true: archived ones only; false: none of them; absent: all."),
    pinned: bool | None = Query(None, description="true: pinned ones only; false: unpinned; absent: all."),
    folder: str | None = Query(None, max_length=40, description="A folder id, or `none` for conversations in no folder."),
):
    try:
        q = _storable(q)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"Invalid input: q {exc}.") from None
    if folder not in (None, history.UNFILED):
        try:
            folder = str(UUID(folder))
        except ValueError:
            raise ApiError(422, "invalid", "Invalid folder: a folder id, or none.") from None
    try:
        page = await database_sync_to_async(history.conversation_page)(
            user=request.auth, q=q, limit=limit, cursor=cursor, archived=archived, pinned=pinned, folder=folder
        )
    except history.BadCursor as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


async def _owned_snapshot(user, conversation_id: UUID) -> dict:
    if await database_sync_to_async(history.owned)(user=user, conversation_id=conversation_id) is None:
        raise not_found()
    snapshot = await actions.snapshot(user.pk, conversation_id)
    if snapshot["conversation"] is None:  # deleted meanwhile
        raise not_found()
    return snapshot


@router.get("{conversation_id}/", response={200: ConversationDetailOut, **ERRORS},
            summary="One conversation with its messages (streaming answers with their text so far)")
async def conversation_detail(request, conversation_id: UUID):
    snapshot = await _owned_snapshot(request.auth, conversation_id)
    return {"conversation": snapshot["conversation"], "messages": snapshot["messages"]}


@router.patch("{conversation_id}/", response={200: ConversationOut, 400: ErrorOut, **ERRORS},
              summary="Rename, pin, archive, file a conversation or change its settings; open sockets get conversation.updated")
async def conversation_rename(request, conversation_id: UUID, body: ConversationPatchIn):
    fields = body.model_dump(exclude_unset=True)
    chosen = protocol.parse_settings(fields)
    organize = {name: fields[name] for name in ("pinned", "archived", "folder_id") if name in fields}
    # All or nothing: what can refuse (another user's folder, an unknown model) is checked
    # before anything changes.
    if organize.get("folder_id") is not None and not await database_sync_to_async(history.folder_is_users)(
            user=request.auth, folder_id=organize["folder_id"]):
        raise ApiError(400, "bad_request", "folder_id is not one of your folders.")
    conversation = None
    if chosen:  # an unknown model refuses the whole request, the title included
        try:
            conversation = await database_sync_to_async(choices.conversation_settings_update)(
                user=request.auth, conversation_id=conversation_id, chosen=chosen
            )
        except UnknownModel as exc:
            raise ApiError(422, protocol.UNKNOWN_MODEL, str(exc)) from None
        if conversation is None:
            raise not_found()
    if organize:
        try:
            conversation = await database_sync_to_async(history.conversation_organize)(
                user=request.auth, conversation_id=conversation_id, **organize
            )
        except history.NoSuchFolder:  # deleted since the check
            raise ApiError(400, "bad_request", "folder_id is not one of your folders.") from None
        if conversation is None:
            raise not_found()
    if "title" in fields:
        conversation = await database_sync_to_async(history.conversation_rename)(
            user=request.auth, conversation_id=conversation_id, title=body.title
        )
        if conversation is None:
            raise not_found()
    await history.publish_renamed(conversation)
    return protocol.conversation_json(conversation)


@router.post("{conversation_id}/branch/", response={200: ConversationOut, 400: ErrorOut, **ERRORS},
             summary="Show another branch (the socket's branch.switch); open sockets get conversation.updated")
async def conversation_switch_branch(request, conversation_id: UUID, body: BranchSwitchIn):
    if await database_sync_to_async(history.owned)(user=request.auth, conversation_id=conversation_id) is None:
        raise not_found()
    conversation = await actions.switch_branch(user=request.auth, conversation_id=conversation_id,
                                               message_id=body.message_id)
    return protocol.conversation_json(conversation)


@router.delete("{conversation_id}/", response={204: None, **ERRORS},
               summary="Delete a conversation and its messages (a running answer is stopped first)")
async def conversation_delete(request, conversation_id: UUID):
    if await database_sync_to_async(history.owned)(user=request.auth, conversation_id=conversation_id) is None:
        raise not_found()
    running = await database_sync_to_async(history.streaming_answer_ids)(conversation_id=conversation_id)
    if running:
        # Stop first and wait (a few seconds at most) for the answer's end to be stored and
        # published, so its task never writes to a deleted row.
        listener = await Listener(request.auth.pk, conversation_id).open()
        try:
            await actions.stop(user=request.auth, conversation_id=conversation_id)
            await listener.wait_done(running, timeout=STOP_WAIT)
        finally:
            await listener.close()
    if not await database_sync_to_async(history.conversation_delete)(
        user=request.auth, conversation_id=conversation_id
    ):
        raise not_found()
    return Status(204, None)


EXPORT_RESPONSES = {
    200: {
        "description": "A download (`Content-Disposition: attachment`).",
        "content": {"text/markdown": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"type": "object", "description":
                                                        "{conversation: Conversation, messages: [Message]}"}}},
    }
}


@router.get("{conversation_id}/export/", response=ERRORS, openapi_extra={"responses": EXPORT_RESPONSES},
            summary="Download a conversation as Markdown or JSON")
async def conversation_export(request, conversation_id: UUID,
                              format: Literal["markdown", "json"] = "markdown"):  # noqa: A002 (the contract's name)
    snapshot = await _owned_snapshot(request.auth, conversation_id)
    return export_response(snapshot, format)
