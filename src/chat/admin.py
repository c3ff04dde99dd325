"""Admin for reviewing conversations. Pages stay fast at millions of messages:
no N+1 (related rows joined, message counts in one grouped query for the shown page),
no full-table COUNT(*) (the paginator stops counting at a cap), no DISTINCT over the
messages table (search uses EXISTS, the model filter lists recent models). Figures:
docs/admin.md (bench/admin.py)."""
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.functional import cached_property

from . import tree
from .models import Conversation, Message

PREVIEW_CHARS = 120


class CappedPaginator(Paginator):
    """Counts at most CAP rows: beyond that admins filter or search, they do not page."""

    CAP = 10_000

    @cached_property
    def count(self):
        # Only ids, unordered: per-row annotations (message counts) are not computed CAP times.
        return self.object_list.values("pk").order_by()[: self.CAP].count()


class RecentModelFilter(admin.SimpleListFilter):
    """Models seen in the latest messages: a DISTINCT over the whole table scans every row.

    Older model names still filter by URL (?model=<name>)."""

    title = "model"
    parameter_name = "model"
    RECENT = 5000

    def lookups(self, request, model_admin):
        recent = Message.objects.order_by("-created_at").values_list("model", flat=True)[: self.RECENT]
        names = sorted({name for name in recent if name})
        if self.value() and self.value() not in names:
            names.append(self.value())
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(model=self.value()) if self.value() else queryset


def preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


class MessageInline(admin.TabularInline):
    """Every message of every branch, oldest first; the `branch` column places each one in
    the tree (depth, which sibling) and marks the branch the user is shown."""

    model = Message
    fk_name = "conversation"
    fields = ("created_at", "branch", "role", "status", "text", "reasoning_preview", "model", "tokens", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("created_at",)

    def get_formset(self, request, obj=None, **kwargs):
        # Inline instances are made per request (get_inline_instances), so this is the
        # request's tree: one extra query of (id, parent id) pairs.
        self.places, self.shown = {}, set()
        if obj is not None:
            pairs = list(obj.messages.order_by("created_at", "id").values_list("id", "parent_id"))
            self.places = tree.places(pairs)
            self.shown = set(tree.path_up(dict(pairs), tree.shown_tip(pairs, obj.active_leaf_id)))
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="branch")
    def branch(self, message):
        place = getattr(self, "places", {}).get(message.id)
        if place is None:
            return "–"
        parts = [f"depth {place.depth + 1}"]
        if place.siblings > 1:
            parts.append(f"version {place.number} of {place.siblings}")
        if message.id in self.shown:
            parts.append("shown")
        return " · ".join(parts)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="content")
    def text(self, message):
        return message.content

    @admin.display(description="reasoning")
    def reasoning_preview(self, message):
        return preview(message.reasoning)

    @admin.display(description="tokens (in/out)")
    def tokens(self, message):
        return format_tokens(message)


def format_tokens(message) -> str:
    if message.input_tokens is None and message.output_tokens is None:
        return "–"
    return f"{message.input_tokens or 0} / {message.output_tokens or 0}"


class ConversationChangeList(ChangeList):
    """Message counts for the shown page only, in one grouped query: as a per-row subquery,
    PostgreSQL also computes it for every row an OFFSET skips (page 50: 4,900 rows)."""

    def get_results(self, request):
        super().get_results(request)
        conversations = list(self.result_list)  # evaluated once; the template reuses them
        counts = dict(
            Message.objects.filter(conversation_id__in=[c.pk for c in conversations]).order_by()
            .values_list("conversation_id").annotate(n=Count("*"))
        )
        for conversation in conversations:
            conversation.message_count = counts.get(conversation.pk, 0)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("title_or_id", "owner", "messages_count", "updated_at", "created_at")
    list_select_related = ("owner",)
    search_fields = ("title", "messages__content", "owner__username")
    list_filter = (("updated_at", admin.DateFieldListFilter),)
    readonly_fields = ("id", "owner", "created_at", "updated_at")
    fields = ("id", "owner", "title", "created_at", "updated_at")
    inlines = [MessageInline]
    paginator = CappedPaginator
    show_full_result_count = False
    ordering = ("-updated_at", "-id")

    def get_search_results(self, request, queryset, search_term):
        """Titles, owners and message text, as one EXISTS per conversation: the default
        join to messages plus DISTINCT sorts every matching message of the table."""
        if not search_term.strip():
            return queryset, False
        match = Q()
        for word in search_term.split():
            in_messages = Message.objects.filter(conversation=OuterRef("pk"), content__icontains=word)
            match &= (Q(title__icontains=word) | Q(owner__username__icontains=word)
                      | Q(Exists(in_messages)))
        return queryset.filter(match), False

    def get_changelist(self, request, **kwargs):
        return ConversationChangeList

    @admin.display(description="title", ordering="title")
    def title_or_id(self, conversation):
        return conversation.title or str(conversation.id)

    @admin.display(description="messages")
    def messages_count(self, conversation):
        return conversation.message_count

    def has_add_permission(self, request):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("text_preview", "owner", "conversation_title", "role", "status", "model",
                    "tokens", "created_at")
    list_select_related = ("conversation__owner",)
    list_filter = ("status", "role", RecentModelFilter, ("created_at", admin.DateFieldListFilter))
    search_fields = ("content",)
    readonly_fields = [f.name for f in Message._meta.fields]
    paginator = CappedPaginator
    show_full_result_count = False
    ordering = ("-created_at",)
    raw_id_fields = ("conversation", "parent")

    @admin.display(description="message")
    def text_preview(self, message):
        return preview(message.content) or "(empty)"

    @admin.display(description="owner", ordering="conversation__owner__username")
    def owner(self, message):
        return message.conversation.owner

    @admin.display(description="conversation")
    def conversation_title(self, message):
        return message.conversation.title

    @admin.display(description="tokens (in/out)")
    def tokens(self, message):
        return format_tokens(message)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
