"""Share links: create, list, revoke, view, and copy into the viewer's own chats.

A link shows the conversation's shown branch as it was when the link was made (copied into
the Share row), never later messages, other branches or the owner beyond a display name.
Revoked and unknown links are the same 404.
"""
import secrets
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from chat import services as chat_services
from chat.export import shown_branch

from .models import Share

SHARED_FIELDS = ("role", "content", "reasoning", "model", "status", "created_at")


def share_create(*, owner, snapshot: dict) -> Share:
    """A link to the conversation of `snapshot` (chat.actions.snapshot, already checked to
    be the owner's), frozen as it is now."""
    conversation = snapshot["conversation"]
    branch = shown_branch(conversation, snapshot["messages"])
    return Share.objects.create(
        token=secrets.token_urlsafe(18), owner=owner, conversation_id=conversation["id"],
        title=conversation["title"], messages=[{k: m[k] for k in SHARED_FIELDS} for m in branch],
    )


def shares_of(*, owner, conversation_id=None) -> list[Share]:
    rows = Share.objects.filter(owner=owner, revoked_at__isnull=True)
    if conversation_id is not None:
        rows = rows.filter(conversation_id=conversation_id)
    return list(rows)


def share_revoke(*, owner, token: str) -> bool:
    return bool(Share.objects.filter(owner=owner, token=token, revoked_at__isnull=True)
                .update(revoked_at=timezone.now()))


def share_open(*, token: str, viewer) -> Share | None:
    """The live (not revoked) share, if this viewer may open it: any logged-in user of the
    instance, or anyone when CHAT_PUBLIC_SHARES is on. None reads as a 404."""
    if not viewer.is_authenticated and not settings.CHAT_PUBLIC_SHARES:
        return None
    return Share.objects.select_related("owner").filter(token=token, revoked_at__isnull=True).first()


def shared_by(share: Share) -> str:
    owner = share.owner
    return (owner.get_full_name() or owner.get_username())[:150]


def share_copy(*, share: Share, viewer):
    """"Continue in my chats": the shared messages as a new conversation of the viewer's."""
    messages, parent = [], None
    for index, message in enumerate(share.messages):
        key = str(index)
        status = "interrupted" if message["status"] == "streaming" else message["status"]
        messages.append(chat_services.NewMessage(
            key=key, parent_key=parent, role=message["role"], content=message["content"],
            reasoning=message.get("reasoning") or "", model=message.get("model"), status=status,
            created_at=datetime.fromisoformat(message["created_at"].replace("Z", "+00:00")),
        ))
        parent = key
    now = timezone.now()
    [conversation] = chat_services.conversations_create(owner=viewer, conversations=[
        chat_services.NewConversation(title=share.title, created_at=now, updated_at=now, messages=messages)
    ])
    return conversation
