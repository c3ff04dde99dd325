"""Reads: a user's usage (today, this month), and the admin's report over a period."""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from .models import DailyUsage, ModelPrice

MILLION = Decimal(1_000_000)
FIELDS = ("answers", "input_tokens", "output_tokens", "counted_answers")
SUMS = {f"total_{name}": Sum(name) for name in FIELDS}


def _plain(row: dict) -> dict:
    """A grouped row with its sums under the fields' own names."""
    return {key.removeprefix("total_"): value for key, value in row.items()}


def prices() -> dict[str, tuple[Decimal, Decimal]]:
    """(input, output) price per million tokens, by model; models without a price cost 0."""
    return {p.model: (p.input_per_million, p.output_per_million) for p in ModelPrice.objects.all()}


def cost(model: str, input_tokens: int, output_tokens: int, table: dict) -> Decimal:
    per_input, per_output = table.get(model, (Decimal(0), Decimal(0)))
    return (input_tokens * per_input + output_tokens * per_output) / MILLION


@dataclass
class Totals:
    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    counted_answers: int = 0
    cost: Decimal = field(default_factory=Decimal)

    def add(self, row: dict, table: dict) -> None:
        self.answers += row["answers"] or 0
        self.input_tokens += row["input_tokens"] or 0
        self.output_tokens += row["output_tokens"] or 0
        self.counted_answers += row["counted_answers"] or 0
        self.cost += cost(row["model"], row["input_tokens"] or 0, row["output_tokens"] or 0, table)

    def json(self) -> dict:
        return {"answers": self.answers, "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "counted_answers": self.counted_answers, "cost": str(self.cost.quantize(Decimal("0.000001")))}


def user_usage(*, user, today: date) -> tuple[Totals, Totals]:
    """The user's usage today and this calendar month (UTC): two small grouped queries."""
    table = prices()
    month = today.replace(day=1)
    rows = (DailyUsage.objects.filter(user=user, day__gte=month, day__lte=today)
            .values("model", "day").annotate(**SUMS).order_by())
    today_totals, month_totals = Totals(), Totals()
    for row in map(_plain, rows):
        month_totals.add(row, table)
        if row["day"] == today:
            today_totals.add(row, table)
    return today_totals, month_totals


@dataclass
class Report:
    rows: list[dict]  # user × model, most tokens first, each with its cost
    totals: Totals
    days: list[dict]  # per day: tokens and cost
    more: bool  # rows beyond `limit` were left out (the totals include them)


def usage_report(*, start: date, end: date, limit: int | None = 200) -> Report:
    """Usage and cost per user × model between two days (inclusive), with totals and a
    per-day series. Three queries whatever the period's size."""
    table = prices()
    period = DailyUsage.objects.filter(day__gte=start, day__lte=end)
    grouped = (period.values("user_id", "user__username", "model").annotate(**SUMS)
               .order_by("-total_output_tokens", "-total_input_tokens", "user_id", "model"))
    rows = list(grouped[: limit + 1] if limit else grouped)
    more = bool(limit) and len(rows) > limit
    rows = rows[:limit] if limit else rows
    report_rows = []
    for row in rows:
        plain = _plain(row)
        plain["cost"] = cost(plain["model"], plain["input_tokens"] or 0, plain["output_tokens"] or 0, table)
        report_rows.append(plain)
    totals, days = Totals(), {}
    for row in period.values("day", "model").annotate(**SUMS).order_by("day"):  # also the totals
        plain = _plain(row)
        totals.add(plain, table)
        days.setdefault(plain["day"], Totals()).add(plain, table)
    series = [{"day": day, "tokens": t.input_tokens + t.output_tokens, "cost": t.cost} for day, t in days.items()]
    return Report(report_rows, totals, series, more)
