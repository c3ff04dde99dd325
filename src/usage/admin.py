"""Usage and cost in the admin: the report (per user × model over a period, a chart, totals,
CSV) in place of the daily rows' list, and prices per model."""
import csv
from datetime import date, timedelta

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from . import selectors
from .models import DailyUsage, ModelPrice, Quota

CHART_HEIGHT = 120


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ("model", "input_per_million", "output_per_million")
    list_editable = ("input_per_million", "output_per_million")
    search_fields = ("model",)


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    """Budgets overriding the QUOTA_* settings for a user or a group's members (empty:
    follow the next rule; 0: no limit). Changes apply within 10 seconds."""

    list_display = ("__str__", "daily_messages", "monthly_messages", "daily_tokens", "monthly_tokens")
    list_select_related = ("user", "group")
    raw_id_fields = ("user",)
    search_fields = ("user__username", "group__name")


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


@admin.register(DailyUsage)
class DailyUsageAdmin(admin.ModelAdmin):
    """The changelist is the report: ?start=YYYY-MM-DD&end=YYYY-MM-DD (default: this month
    so far), &format=csv for every row as CSV."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        today = timezone.now().date()
        start = _day(request.GET.get("start"), today.replace(day=1))
        end = _day(request.GET.get("end"), today)
        if end < start:
            start, end = end, start
        if request.GET.get("format") == "csv":
            return self._csv(start, end)
        report = selectors.usage_report(start=start, end=end)
        peak = max((d["tokens"] for d in report.days), default=0) or 1
        width = max(4, min(40, 800 // max(1, (end - start).days + 1)))
        bars = [{"day": d["day"], "tokens": d["tokens"], "cost": d["cost"], "x": (d["day"] - start).days * width,
                 "height": max(1, round(d["tokens"] / peak * CHART_HEIGHT)), "width": width - 1}
                for d in report.days]
        for bar in bars:
            bar["y"] = CHART_HEIGHT - bar["height"]
        context = {
            **self.admin_site.each_context(request),
            "title": "Usage and cost",
            "opts": self.model._meta,
            "report": report,
            "start": start,
            "end": end,
            "bars": bars,
            "chart_width": ((end - start).days + 1) * width,
            "chart_height": CHART_HEIGHT,
            "currency": settings.USAGE_CURRENCY,
            "presets": [("Today", today, today), ("Last 7 days", today - timedelta(days=6), today),
                        ("This month", today.replace(day=1), today),
                        ("Last 30 days", today - timedelta(days=29), today)],
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/usage/report.html", context)

    def _csv(self, start: date, end: date) -> HttpResponse:
        report = selectors.usage_report(start=start, end=end, limit=None)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="usage-{start}-{end}.csv"'
        writer = csv.writer(response)
        writer.writerow(["user", "model", "answers", "input_tokens", "output_tokens", "counted_answers",
                         f"cost_{settings.USAGE_CURRENCY}"])
        for row in report.rows:
            writer.writerow([row["user__username"], row["model"], row["answers"], row["input_tokens"],
                             row["output_tokens"], row["counted_answers"], f"{row['cost']:.6f}"])
        totals = report.totals
        writer.writerow(["(total)", "", totals.answers, totals.input_tokens, totals.output_tokens,
                         totals.counted_answers, f"{totals.cost:.6f}"])
        return response
