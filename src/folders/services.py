"""Writes and reads of folders. A folder holds the user's conversations (chat's
`Conversation.folder`); deleting it leaves them unfiled."""
from django.db.models import Count
from django.db.models.functions import Lower

from llm import catalogue

from .models import NAME_MAX, Folder

PROMPT_MAX = 8000


class FolderError(ValueError):
    """Bad input, said for the user."""


def _clean(*, owner, name=None, model=None, system_prompt=None, folder=None) -> dict:
    fields = {}
    if name is not None:
        name = " ".join(name.split())
        if not name or len(name) > NAME_MAX or "\x00" in name:
            raise FolderError(f"A folder name has 1 to {NAME_MAX} characters.")
        taken = Folder.objects.filter(owner=owner, name__iexact=name)
        if folder is not None:
            taken = taken.exclude(id=folder.id)
        if taken.exists():
            raise FolderError(f"You already have a folder named {name!r}.")
        fields["name"] = name
    if model is not None:
        model = model.strip()
        if model and not catalogue.offered(model):  # "" is the user's own last choice
            raise FolderError(f"The model {model[:100]!r} is not offered here (GET /api/models/).")
        fields["model"] = model
    if system_prompt is not None:
        if len(system_prompt) > PROMPT_MAX or "\x00" in system_prompt:
            raise FolderError(f"A system prompt has at most {PROMPT_MAX} characters.")
        fields["system_prompt"] = system_prompt
    return fields


def folder_create(*, owner, name: str, model: str = "", system_prompt: str = "") -> Folder:
    return Folder.objects.create(owner=owner, **_clean(owner=owner, name=name, model=model, system_prompt=system_prompt))


def folder_update(*, owner, folder_id, **changes) -> Folder | None:
    folder = Folder.objects.filter(id=folder_id, owner=owner).first()
    if folder is None:
        return None
    for field, value in _clean(owner=owner, folder=folder, **changes).items():
        setattr(folder, field, value)
    folder.save()
    return folder


def folder_delete(*, owner, folder_id) -> bool:
    """Delete the folder; its conversations stay, in no folder."""
    deleted, _ = Folder.objects.filter(id=folder_id, owner=owner).delete()
    return bool(deleted)


def folder_list(*, owner) -> list[Folder]:
    """The user's folders by name, each with `conversation_count` (one query)."""
    # Ordered here: Meta.ordering is not applied to a query with GROUP BY.
    return list(Folder.objects.filter(owner=owner).annotate(conversation_count=Count("conversations"))
                .order_by(Lower("name"), "created_at"))
