"""Import and bulk export routes of the HTTP API (docs/api.md, "Import and bulk export")."""
from datetime import UTC, datetime
from uuid import UUID

from channels.db import database_sync_to_async
from django.conf import settings
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header
from ninja import File, Router, Schema, UploadedFile

from chat.api_errors import ApiError
from chat.api_schemas import ErrorOut

from chat import actions, history

from . import selectors, services, shares
from .bulk_export import zip_stream
from .models import ImportJob, Share

router = Router(tags=["import and export"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}


class ImportJobOut(Schema):
    id: str
    filename: str
    size: int
    status: str  # running | done | failed
    phase: str  # reading | saving | done
    done: int
    total: int
    imported: int
    skipped: int
    error: str
    created_at: str


def job_json(job: ImportJob) -> dict:
    job = services.job_state(job)
    return {"id": str(job.id), "filename": job.filename, "size": job.size, "status": job.status,
            "phase": job.phase, "done": job.done, "total": job.total, "imported": job.imported,
            "skipped": job.skipped, "error": job.error, "created_at": job.created_at.isoformat().replace("+00:00", "Z")}


@router.post("imports/", response={202: ImportJobOut, **ERRORS},
             summary="Import conversations: ChatGPT's export (conversations.json or its zip) or this app's JSON")
async def import_create(request, file: File[UploadedFile]):
    try:
        job = await database_sync_to_async(services.import_start)(user=request.auth, upload=file)
    except services.TooLarge:
        limit = settings.CHAT_IMPORT_MAX_BYTES
        raise ApiError(413, "too_large", f"The file has {file.size:,} bytes; an import takes at most {limit:,}.") from None
    return 202, job_json(job)


@router.get("imports/{job_id}/", response={200: ImportJobOut, **ERRORS}, summary="An import's progress and outcome")
async def import_detail(request, job_id: UUID):
    job = await database_sync_to_async(selectors.import_job)(owner=request.auth, job_id=job_id)
    if job is None:
        raise ApiError(404, "not_found", "No such import.")
    return job_json(job)


@router.get("export/", response=ERRORS, summary="All of the user's conversations as one zip, streamed",
            openapi_extra={"responses": {200: {"description": "A zip download.",
                                               "content": {"application/zip": {"schema": {"type": "string"}}}}}})
async def export_all(request):
    response = StreamingHttpResponse(zip_stream(request.auth.pk), content_type="application/zip")
    name = f"chats-{request.auth.get_username()}-{datetime.now(UTC):%Y%m%d-%H%M}.zip"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


# --- share links ----------------------------------------------------------------------------
class ShareOut(Schema):
    token: str
    url: str
    conversation_id: str
    title: str
    message_count: int
    created_at: str


class SharedMessageOut(Schema):
    role: str
    content: str
    reasoning: str
    model: str | None
    status: str
    created_at: str


class SharedOut(Schema):
    title: str
    shared_by: str
    created_at: str
    messages: list[SharedMessageOut]


class CopyOut(Schema):
    conversation_id: str


def share_json(share: Share) -> dict:
    return {"token": share.token, "url": f"/s/{share.token}", "conversation_id": str(share.conversation_id),
            "title": share.title, "message_count": len(share.messages),
            "created_at": share.created_at.isoformat().replace("+00:00", "Z")}


def _no_such_link() -> ApiError:
    return ApiError(404, "not_found", "No such link (it may have been revoked).")


@router.post("conversations/{conversation_id}/shares/", response={201: ShareOut, **ERRORS},
             summary="Make a read-only link to the conversation as it is now")
async def share_create(request, conversation_id: UUID):
    if await database_sync_to_async(history.owned)(user=request.auth, conversation_id=conversation_id) is None:
        raise ApiError(404, "not_found", "No such conversation.")
    snapshot = await actions.snapshot(request.auth.pk, conversation_id)
    if snapshot["conversation"] is None:
        raise ApiError(404, "not_found", "No such conversation.")
    share = await database_sync_to_async(shares.share_create)(owner=request.auth, snapshot=snapshot)
    return 201, share_json(share)


@router.get("conversations/{conversation_id}/shares/", response={200: list[ShareOut], **ERRORS},
            summary="The conversation's links that are not revoked")
async def share_list_of_conversation(request, conversation_id: UUID):
    rows = await database_sync_to_async(shares.shares_of)(owner=request.auth, conversation_id=conversation_id)
    return [share_json(share) for share in rows]


@router.get("shares/", response={200: list[ShareOut], **ERRORS}, summary="All of the user's links that are not revoked")
async def share_list(request):
    return [share_json(share) for share in await database_sync_to_async(shares.shares_of)(owner=request.auth)]


@router.delete("shares/{token}/", response={204: None, **ERRORS}, summary="Revoke a link: it is a 404 from now on")
async def share_revoke(request, token: str):
    if not await database_sync_to_async(shares.share_revoke)(owner=request.auth, token=token):
        raise _no_such_link()
    return 204, None


@router.get("shares/{token}/", auth=None, response={200: SharedOut, **ERRORS},
            summary="What a link shows (logged-in users; anyone when CHAT_PUBLIC_SHARES is on)")
async def share_view(request, token: str):
    viewer = await request.auser()
    share = await database_sync_to_async(shares.share_open)(token=token, viewer=viewer)
    if share is None:
        raise _no_such_link()
    return {"title": share.title, "shared_by": shares.shared_by(share),
            "created_at": share.created_at.isoformat().replace("+00:00", "Z"), "messages": share.messages}


@router.post("shares/{token}/copy/", response={201: CopyOut, **ERRORS},
             summary="Continue in my chats: a copy of the shared messages as the user's own conversation")
async def share_copy(request, token: str):
    share = await database_sync_to_async(shares.share_open)(token=token, viewer=request.auth)
    if share is None:
        raise _no_such_link()
    conversation = await database_sync_to_async(shares.share_copy)(share=share, viewer=request.auth)
    return 201, {"conversation_id": str(conversation.id)}
