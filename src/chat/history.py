"""Past conversations for the HTTP API: the keyset-paginated list, search, rename, delete.

A page costs two small queries whatever the user's history holds: one finds the page's
conversations in (updated_at, id) order, using the `conv_owner_activity` index (and,
with `q`, the trigram indexes of migration 0002 on PostgreSQL); the second counts the
messages and picks the preview only for the page's rows, by correlated subqueries.
"""
import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, Substr
from django.utils import timezone

from . import fanout, protocol
from .models import Conversation, Message

PAGE_DEFAULT = 20
PAGE_MAX = 100
PREVIEW_CHARS = 160
Q_MAX = 200
TITLE_MAX = Conversation._meta.get_field("title").max_length
# What protocol.conversation_json reads (a deferred field would cost a query per row).
# What conversation_json reads: a list page loads only these (no N+1 on deferred fields).
CONVERSATION_FIELDS = ("id", "title", "created_at", "updated_at", "model", "system_prompt", "temperature",
                       "active_leaf", "pinned_at", "archived_at", "folder")


class BadCursor(ValueError):
    """A cursor this server did not make (or made for another ordering)."""


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None


# --- cursors ------------------------------------------------------------------------------
def encode_cursor(conversation: Conversation) -> str:
    """Opaque to clients: the (updated_at, id) of the last row of a page."""
    raw = f"{conversation.updated_at.isoformat()}|{conversation.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, ident = raw.partition("|")
        updated_at = datetime.fromisoformat(stamp)
        if updated_at.tzinfo is None:
            raise ValueError("naive")
        return updated_at, UUID(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise BadCursor("The cursor is not one this server gave out.") from None


# --- list and search --------------------------------------------------------------------
UNFILED = "none"  # the `folder` filter's value for conversations in no folder


def conversation_page(*, user, q: str = "", limit: int = PAGE_DEFAULT, cursor: str | None = None,
                      archived: bool | None = None, pinned: bool | None = None, folder: str | None = None) -> Page:
    """The user's conversations, newest activity first; `q` filters by title or message text;
    `archived`, `pinned` (None: either) and `folder` (an id, UNFILED, or None: any) narrow it."""
    limit = max(1, min(limit, PAGE_MAX))
    q = q.strip()
    rows = Conversation.objects.filter(owner=user)
    if archived is not None:
        rows = rows.filter(archived_at__isnull=not archived)
    if pinned is not None:
        rows = rows.filter(pinned_at__isnull=not pinned)
    if folder == UNFILED:
        rows = rows.filter(folder__isnull=True)
    elif folder is not None:
        rows = rows.filter(folder_id=folder)
    if q:
        matching = Message.objects.filter(conversation_id=OuterRef("pk"), content__icontains=q)
        rows = rows.filter(Q(title__icontains=q) | Exists(matching))
    if cursor:
        updated_at, ident = decode_cursor(cursor)
        # The redundant `<=` gives the index a range to start from; the OR alone is a filter.
        rows = rows.filter(Q(updated_at__lt=updated_at) | Q(updated_at=updated_at, id__lt=ident),
                           updated_at__lte=updated_at)
    page = list(rows.order_by("-updated_at", "-id").only(*CONVERSATION_FIELDS)[:limit + 1])
    more = len(page) > limit
    page = page[:limit]
    details = _page_details([c.id for c in page], q)
    items = []
    for conversation in page:
        count, text = details.get(conversation.id, (0, ""))
        summary = protocol.conversation_json(conversation)
        summary["message_count"] = count
        summary["preview"] = _preview(text, conversation.title, q)
        items.append(summary)
    return Page(items=items, next_cursor=encode_cursor(page[-1]) if more else None)


def _page_details(ids: list, q: str) -> dict:
    """{conversation id: (message count, preview source text)} for one page's rows only."""
    if not ids:
        return {}
    of_row = Message.objects.filter(conversation_id=OuterRef("pk")).order_by()
    count = of_row.values("conversation_id").annotate(n=Count("id")).values("n")
    if q:
        # The first message that matches; the snippet is cut around the match in Python.
        first_match = of_row.filter(content__icontains=q).order_by("created_at", "id").values("content")[:1]
        source = Subquery(first_match)
    else:
        # The last message with text: an answer just opened has none yet.
        last = of_row.exclude(content="").order_by("-created_at", "-id").values("content")[:1]
        source = Substr(Subquery(last), 1, PREVIEW_CHARS * 2)
    rows = Conversation.objects.filter(id__in=ids).annotate(
        message_count=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
        preview_source=source,
    ).values_list("id", "message_count", "preview_source")
    return {ident: (n, text or "") for ident, n, text in rows}


def _preview(text: str, title: str, q: str) -> str:
    """Without q: the start of the last message. With q: ~160 characters around the match."""
    if not q:
        return _squash(text)[:PREVIEW_CHARS]
    text = _squash(text)
    match = re.search(re.escape(q), text, re.IGNORECASE)
    if match is None:  # only the title matched (or a case rule SQL and Python disagree on)
        return title[:PREVIEW_CHARS] if re.search(re.escape(q), title, re.IGNORECASE) else text[:PREVIEW_CHARS]
    room = max(0, PREVIEW_CHARS - len(match[0]))
    start = max(0, match.start() - room // 3)
    end = min(len(text), start + len(match[0]) + room)
    start = max(0, min(start, end - PREVIEW_CHARS))
    snippet = text[start:end]
    return ("…" if start > 0 else "") + snippet + ("…" if end < len(text) else "")


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- one conversation ------------------------------------------------------------------------
def owned(*, user, conversation_id) -> Conversation | None:
    return Conversation.objects.filter(id=conversation_id, owner=user).first()


class NoSuchFolder(Exception):
    """A folder id that is not one of the user's folders."""


KEEP = object()  # conversation_organize: leave the folder as it is


def folder_is_users(*, user, folder_id) -> bool:
    # The folder's model through the field: chat does not import the folders app.
    folders = Conversation._meta.get_field("folder").related_model.objects
    return folders.filter(id=folder_id, owner=user).exists()


def conversation_organize(*, user, conversation_id, pinned: bool | None = None, archived: bool | None = None,
                          folder_id=KEEP) -> Conversation | None:
    """Pin or unpin, archive or unarchive, file into a folder (None: unfile); only what is
    given changes (None: unchanged). None when the user has no such conversation; raises
    NoSuchFolder for a folder that is not the user's."""
    fields = {}
    now = timezone.now()
    if pinned is not None:
        fields["pinned_at"] = now if pinned else None
    if archived is not None:
        fields["archived_at"] = now if archived else None
    if folder_id is not KEEP:
        if folder_id is not None and not folder_is_users(user=user, folder_id=folder_id):
            raise NoSuchFolder
        fields["folder_id"] = folder_id
    rows = Conversation.objects.filter(id=conversation_id, owner=user)
    if fields:
        # Pinning keeps a pin's time; it only moves when it was off.
        if fields.get("pinned_at") is not None:
            rows.filter(pinned_at__isnull=True).update(pinned_at=now)
            del fields["pinned_at"]
        if fields.get("archived_at") is not None:
            rows.filter(archived_at__isnull=True).update(archived_at=now)
            del fields["archived_at"]
        if fields:
            rows.update(**fields)
    return rows.first()


def conversation_rename(*, user, conversation_id, title: str) -> Conversation | None:
    """Set a title (already validated); None when the user has no such conversation.
    The model never retitles it after this (title_source `user`, chat.titles)."""
    if not Conversation.objects.filter(id=conversation_id, owner=user).update(
            title=title, title_source=Conversation.TitleSource.USER):
        return None
    return Conversation.objects.get(id=conversation_id)


def streaming_answer_ids(*, conversation_id) -> set[str]:
    return {str(i) for i in Message.objects.filter(conversation_id=conversation_id,
                                                   status=Message.Status.STREAMING).values_list("id", flat=True)}


def conversation_delete(*, user, conversation_id) -> bool:
    """Delete a conversation and its messages; False when the user has no such conversation."""
    deleted, _ = Conversation.objects.filter(id=conversation_id, owner=user).delete()
    return bool(deleted)


async def publish_renamed(conversation: Conversation) -> None:
    await fanout.publish(conversation.owner_id, conversation.id, protocol.conversation_updated_frame(conversation))
