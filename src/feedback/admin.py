"""The feedback queue, and ratings inline on chat's conversation page.

The queue stays fast at millions of messages: one joined query per page (message,
conversation, user), no full COUNT(*) (chat's capped paginator), no DISTINCT over big
tables (the user and model filters list recent values; others work by URL). Figures:
docs/admin.md (bench/admin_review.py).
"""
from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from chat.admin import CappedPaginator, ConversationAdmin, MessageInline, preview
from chat.models import Conversation

from . import selectors, services
from .models import Feedback

RECENT = 5000


class RecentUserFilter(admin.SimpleListFilter):
    """Users among the latest ratings (10,000 users make no list); any user by URL (?user=<id>)."""

    title = "user"
    parameter_name = "user"

    def lookups(self, request, model_admin):
        recent = Feedback.objects.order_by("-updated_at").values_list("user_id", "user__username")[:RECENT]
        users = dict(recent)
        return sorted(((str(pk), name) for pk, name in users.items()), key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        return queryset.filter(user_id=self.value()) if self.value() else queryset


class RecentModelFilter(admin.SimpleListFilter):
    """Models of the latest rated answers; any model by URL (?model=<name>)."""

    title = "model"
    parameter_name = "model"

    def lookups(self, request, model_admin):
        recent = Feedback.objects.order_by("-updated_at").values_list("message__model", flat=True)[:RECENT]
        names = sorted({name for name in recent if name})
        if self.value() and self.value() not in names:
            names.append(self.value())
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(message__model=self.value()) if self.value() else queryset


class ReviewedFilter(admin.SimpleListFilter):
    title = "reviewed"
    parameter_name = "reviewed"

    def lookups(self, request, model_admin):
        return [("no", "Not yet"), ("yes", "Reviewed")]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(reviewed_at__isnull=self.value() == "no")
        return queryset


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("updated_at", "rating", "reason", "comment_preview", "answer_preview", "answer_model", "user",
                    "reviewed", "conversation_link")
    list_display_links = ("updated_at",)
    list_select_related = ("user", "message")
    list_filter = ("rating", "reason", RecentModelFilter, RecentUserFilter, ReviewedFilter,
                   ("updated_at", admin.DateFieldListFilter))
    search_fields = ("comment",)
    paginator = CappedPaginator
    show_full_result_count = False
    ordering = ("-updated_at", "-id")
    actions = ("mark_reviewed", "mark_not_reviewed")
    fields = ("rating", "reason", "comment", "user", "answer_model", "updated_at", "created_at", "reviewed_at",
              "reviewed_by", "conversation_link", "around")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="comment")
    def comment_preview(self, feedback):
        return preview(feedback.comment)

    @admin.display(description="answer")
    def answer_preview(self, feedback):
        return preview(feedback.message.content) or "(empty)"

    @admin.display(description="model", ordering="message__model")
    def answer_model(self, feedback):
        return feedback.message.model

    @admin.display(description="reviewed", boolean=True, ordering="reviewed_at")
    def reviewed(self, feedback):
        return feedback.reviewed_at is not None

    @admin.display(description="conversation")
    def conversation_link(self, feedback):
        url = reverse("admin:chat_conversation_change", args=[feedback.message.conversation_id])
        return format_html('<a href="{}">whole conversation</a>', url)

    @admin.display(description="around the rated answer")
    def around(self, feedback):
        rows = format_html_join(
            "", '<tr{}><td>{}</td><td>{}</td><td style="white-space:pre-wrap">{}</td></tr>',
            ((' style="background:var(--selected-row)"' if m.id == feedback.message_id else "",
              m.created_at.strftime("%Y-%m-%d %H:%M:%S"), m.role, m.content)
             for m in selectors.messages_around(feedback.message)),
        )
        return format_html("<table>{}</table>", rows)

    @admin.action(description="Mark the selected feedback reviewed")
    def mark_reviewed(self, request, queryset):
        changed = services.feedback_mark_reviewed(feedback_ids=queryset.values("id"), reviewer=request.user)
        self.message_user(request, f"{changed} marked reviewed.")

    @admin.action(description="Mark the selected feedback not reviewed")
    def mark_not_reviewed(self, request, queryset):
        changed = services.feedback_mark_reviewed(feedback_ids=queryset.values("id"), reviewer=None, reviewed=False)
        self.message_user(request, f"{changed} marked not reviewed.")


class RatedMessageInline(MessageInline):
    """Chat's message rows with their rating beside them: one subquery column each, so the
    page's queries stay constant whatever its length."""

    fields = (*MessageInline.fields, "rating")
    readonly_fields = fields

    def get_queryset(self, request):
        ratings = Feedback.objects.filter(message=OuterRef("pk")).order_by("-updated_at")
        return super().get_queryset(request).annotate(
            feedback_rating=Subquery(ratings.values("rating")[:1]),
            feedback_reason=Subquery(ratings.values("reason")[:1]),
            feedback_comment=Subquery(ratings.values("comment")[:1]),
        )

    @admin.display(description="rating")
    def rating(self, message):
        if not message.feedback_rating:
            return "–"
        label = dict(Feedback.Rating.choices)[message.feedback_rating]
        details = " · ".join(part for part in (message.feedback_reason, preview(message.feedback_comment or ""))
                             if part)
        return f"{label} ({details})" if details else label


class RatedConversationAdmin(ConversationAdmin):
    inlines = [RatedMessageInline]


admin.site.unregister(Conversation)
admin.site.register(Conversation, RatedConversationAdmin)
