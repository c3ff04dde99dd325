"""The usage report in the admin: totals, per user x model with cost, the chart, CSV, and
the same number of queries however many rows."""
import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from usage.models import DailyUsage, ModelPrice

pytestmark = pytest.mark.django_db

REPORT = "/admin/usage/dailyusage/"
DAY = date(2026, 11, 10)


@pytest.fixture
def rows(user, other_user):
    ModelPrice.objects.create(model="model-a", input_per_million=Decimal("1"), output_per_million=Decimal("2"))
    return DailyUsage.objects.bulk_create([
        DailyUsage(user=user, model="model-a", day=DAY, answers=3, input_tokens=1_000_000, output_tokens=500_000),
        DailyUsage(user=user, model="model-a", day=DAY + timedelta(days=1), answers=1, input_tokens=10, output_tokens=20),
        DailyUsage(user=other_user, model="model-b", day=DAY, answers=2, input_tokens=7, output_tokens=9,
                   counted_answers=2),
        DailyUsage(user=other_user, model="model-a", day=DAY - timedelta(days=40), answers=9, input_tokens=9,
                   output_tokens=9),  # outside the period
    ])


def period(start=DAY, end=DAY + timedelta(days=2)) -> str:
    return f"?start={start}&end={end}"


def test_report_totals_rows_and_chart(admin_client, rows):
    html = admin_client.get(REPORT + period()).content.decode()
    assert "6 answers · 1000017 input tokens · 500029 output tokens · cost 2.0001 USD" in " ".join(html.split())
    assert "2 answers counted here" in html
    assert "<td>alice</td><td>model-a</td><td>4</td><td>1000010</td>" in html
    assert "<td>bob</td><td>model-b</td><td>2</td><td>7</td>" in html
    assert html.count("<rect ") == 2  # two days with usage in the period


def test_csv_export(admin_client, rows):
    response = admin_client.get(REPORT + period() + "&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode())))
    assert table[0][:3] == ["user", "model", "answers"]
    assert ["alice", "model-a", "4", "1000010", "500020", "0", "2.000050"] in table
    assert ["bob", "model-b", "2", "7", "9", "2", "0.000000"] in table
    assert table[-1] == ["(total)", "", "6", "1000017", "500029", "2", "2.000050"]


def test_the_period_is_chosen(admin_client, rows):
    html = admin_client.get(REPORT + period(DAY - timedelta(days=41), DAY - timedelta(days=39))).content.decode()
    assert "<td>bob</td><td>model-a</td><td>9</td>" in html and "alice" not in html.split('id="usage-rows"')[1]


def test_query_count_does_not_grow(admin_client, rows, django_user_model, django_assert_max_num_queries):
    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(url).status_code == 200
        return len(queries)

    before = {url: count(url) for url in (REPORT + period(), REPORT + period() + "&format=csv")}
    users = django_user_model.objects.bulk_create([django_user_model(username=f"u{n}") for n in range(40)])
    DailyUsage.objects.bulk_create([DailyUsage(user=u, model="model-c", day=DAY + timedelta(days=n % 3), answers=1,
                                               input_tokens=n, output_tokens=n) for n, u in enumerate(users)])
    for url, queries in before.items():
        with django_assert_max_num_queries(queries):
            admin_client.get(url)


def test_prices_are_edited_in_the_admin(admin_client):
    ModelPrice.objects.create(model="model-a")
    assert admin_client.get("/admin/usage/modelprice/").status_code == 200
