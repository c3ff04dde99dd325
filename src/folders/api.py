"""Folder routes of the HTTP API (docs/api.md, "Pin, archive, folders")."""
from uuid import UUID

from channels.db import database_sync_to_async
from ninja import Router, Schema
from pydantic import ConfigDict

from chat.api_errors import ApiError
from chat.api_schemas import ErrorOut

from . import services
from .models import Folder

router = Router(tags=["folders"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class FolderOut(Schema):
    id: str
    name: str
    model: str
    system_prompt: str
    conversation_count: int
    created_at: str


class FolderIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str
    model: str = ""
    system_prompt: str = ""


class FolderPatchIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    model: str | None = None
    system_prompt: str | None = None


def folder_json(folder: Folder, count: int | None = None) -> dict:
    return {"id": str(folder.id), "name": folder.name, "model": folder.model, "system_prompt": folder.system_prompt,
            "conversation_count": getattr(folder, "conversation_count", count or 0),
            "created_at": folder.created_at.isoformat().replace("+00:00", "Z")}


def _no_such_folder() -> ApiError:
    return ApiError(404, "not_found", "No such folder.")


@router.get("folders/", response={200: list[FolderOut], **ERRORS}, summary="The user's folders, by name")
async def folder_list(request):
    return [folder_json(f) for f in await database_sync_to_async(services.folder_list)(owner=request.auth)]


@router.post("folders/", response={201: FolderOut, **ERRORS}, summary="Make a folder")
async def folder_create(request, body: FolderIn):
    try:
        folder = await database_sync_to_async(services.folder_create)(owner=request.auth, **body.model_dump())
    except services.FolderError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    return 201, folder_json(folder, 0)


@router.patch("folders/{folder_id}/", response={200: FolderOut, **ERRORS}, summary="Rename a folder or change its defaults")
async def folder_update(request, folder_id: UUID, body: FolderPatchIn):
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    try:
        folder = await database_sync_to_async(services.folder_update)(owner=request.auth, folder_id=folder_id, **changes)
    except services.FolderError as exc:
        raise ApiError(400, "bad_request", str(exc)) from None
    if folder is None:
        raise _no_such_folder()
    return folder_json(folder)


@router.delete("folders/{folder_id}/", response={204: None, **ERRORS},
               summary="Delete a folder; its conversations stay, in no folder")
async def folder_delete(request, folder_id: UUID):
    if not await database_sync_to_async(services.folder_delete)(owner=request.auth, folder_id=folder_id):
        raise _no_such_folder()
    return 204, None
