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

from . import selectors, services
from .bulk_export import zip_stream
from .models import ImportJob

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
