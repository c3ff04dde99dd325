"""Admin for reviewing conversations. Pages stay fast at millions of messages:
no N+1 (related rows joined, counts as per-row subqueries on the shown page only),
and no full-table COUNT(*) (the paginator stops counting at a cap)."""
from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.functional import cached_property

from .models import Conversation, Message

PREVIEW_CHARS = 120


class CappedPaginator(Paginator):
    """Counts at most CAP rows: beyond that admins filter or search, they do not page."""

    CAP = 10_000

    @cached_property
    def count(self):
        return self.object_list[: self.CAP].count()


def preview(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


class MessageInline(admin.TabularInline):
    model = Message
    fk_name = "conversation"
    fields = ("created_at", "role", "status", "text", "reasoning_preview", "model", "tokens", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("created_at",)

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

    def get_queryset(self, request):
        counts = (
            Message.objects.filter(conversation=OuterRef("pk")).order_by()
            .values("conversation").annotate(n=Count("*")).values("n")
        )
        return super().get_queryset(request).annotate(
            message_count=Coalesce(Subquery(counts, output_field=IntegerField()), 0)
        )

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
    list_filter = ("status", "role", "model", ("created_at", admin.DateFieldListFilter))
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
