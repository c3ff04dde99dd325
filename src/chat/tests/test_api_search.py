"""Listing and searching conversations: order, keyset pages, search, previews.

Runs on SQLite and, in bin/test's second pass, on PostgreSQL (trigram indexes).
"""
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from chat.models import Conversation, Message

from .test_api import make_conversation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(user):
    client = Client()
    client.force_login(user)
    return client


def page(client, **params):
    response = client.get("/api/conversations/", params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(items):
    return [item["id"] for item in items]


def walk(client, limit, between=None, **params):
    """Every page, following next_cursor; `between(n)` runs after page n."""
    seen, cursor, pages = [], None, 0
    while True:
        body = page(client, limit=limit, **({"cursor": cursor} if cursor else {}), **params)
        assert len(body["items"]) <= limit
        seen += ids(body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        if between:
            between(pages)


# --- order and pages -------------------------------------------------------------------------------
def test_newest_activity_first_with_summary_fields(user, alice):
    base = timezone.now() - timedelta(hours=1)
    old = make_conversation(user, "Old", [("user", "first question"), ("assistant", "first answer")], when=base)
    new = make_conversation(user, "New", [("user", "second question")], when=base + timedelta(minutes=5))
    body = page(alice)
    assert ids(body["items"]) == [str(new.id), str(old.id)]
    assert body["next_cursor"] is None
    summary = body["items"][1]
    assert set(summary) == {"id", "title", "created_at", "updated_at", "message_count", "preview",
                            "model", "system_prompt", "temperature"}  # additions
    assert (summary["title"], summary["message_count"], summary["preview"]) == ("Old", 2, "first answer")
    empty = make_conversation(user, "Empty", when=base + timedelta(minutes=9))
    assert page(alice)["items"][0] == {**page(alice)["items"][0], "id": str(empty.id), "message_count": 0,
                                       "preview": ""}


def test_pages_have_no_duplicates_or_gaps_while_conversations_arrive(user, other_user, alice):
    base = timezone.now() - timedelta(days=1)
    existing = []
    for n in range(23):
        # Several share one updated_at: the id breaks the tie, so the cursor still moves on.
        when = base + timedelta(minutes=n // 3)
        existing.append(make_conversation(user, f"Chat {n}", [("user", f"question {n}")], when=when))
    make_conversation(other_user, "Not alice's", when=base + timedelta(minutes=30))
    expected = [str(c.id) for c in sorted(existing, key=lambda c: (c.updated_at, str(c.id)), reverse=True)]
    arrived = []

    def arrive(_):
        arrived.append(make_conversation(user, "Just now", [("user", "new")]))

    seen, pages = walk(alice, 5, between=arrive)
    assert pages == 5
    assert seen == expected  # every one, once, in order; the new ones wait for a fresh page 1
    first = page(alice, limit=100)
    assert ids(first["items"][:len(arrived)]) == [str(c.id) for c in reversed(arrived)]


def test_limit_defaults_to_20_and_is_capped_at_100(user, alice):
    now = timezone.now()
    Conversation.objects.bulk_create(
        Conversation(owner=user, title=f"c{n}", created_at=now, updated_at=now - timedelta(seconds=n))
        for n in range(105)
    )
    assert len(page(alice)["items"]) == 20
    capped = page(alice, limit=1000)
    assert len(capped["items"]) == 100 and capped["next_cursor"]
    rest = page(alice, limit=100, cursor=capped["next_cursor"])
    assert len(rest["items"]) == 5 and rest["next_cursor"] is None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": -1}, {"limit": "ten"}, {"q": "x" * 201}])
def test_bad_list_parameters_are_422(alice, params):
    response = alice.get("/api/conversations/", params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("cursor", ["garbage", "", "Zm9vfGJhcg", "MjAyNi0wMS0wMXx4"])
def test_a_forged_cursor_is_400_or_ignored(alice, cursor):
    response = alice.get("/api/conversations/", {"cursor": cursor})
    if cursor == "":
        assert response.status_code == 200
    else:
        assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


# --- search --------------------------------------------------------------------------------------
@pytest.fixture
def library(user, other_user):
    base = timezone.now() - timedelta(hours=2)
    long_text = ("Lorem ipsum dolor sit amet. " * 20) + "The Zanzibar ferry leaves at noon. " + ("Tail text. " * 20)
    return {
        "title": make_conversation(user, "Zanzibar itinerary", [("user", "plan my days")], when=base),
        "message": make_conversation(user, "Holiday", [("user", "Where next?"), ("assistant", long_text)],
                                     when=base + timedelta(minutes=1)),
        "neither": make_conversation(user, "Groceries", [("user", "milk, eggs")], when=base + timedelta(minutes=2)),
        "bobs": make_conversation(other_user, "Zanzibar secrets", [("user", "zanzibar zanzibar")],
                                  when=base + timedelta(minutes=3)),
    }


def test_search_matches_titles_and_message_text_case_insensitively(alice, library):
    for q in ("zanzibar", "ZANZIBAR", "zAnZiBaR", "anzib"):
        found = ids(page(alice, q=q)["items"])
        assert found == [str(library["message"].id), str(library["title"].id)], q
    assert ids(page(alice, q="MILK")["items"]) == [str(library["neither"].id)]
    assert page(alice, q="no such words anywhere")["items"] == []


def test_search_preview_shows_where_it_matched(alice, library):
    items = {item["id"]: item for item in page(alice, q="zanzibar FERRY")["items"]}
    assert list(items) == [str(library["message"].id)]
    preview = items[str(library["message"].id)]["preview"]
    assert "Zanzibar ferry" in preview
    assert len(preview) <= 162 and preview.startswith("…") and preview.endswith("…")
    by_title = {i["id"]: i for i in page(alice, q="itinerary")["items"]}
    assert by_title[str(library["title"].id)]["preview"] == "Zanzibar itinerary"
    assert page(alice, q="itinerary")["items"][0]["message_count"] == 1


def test_search_never_returns_other_users_data(alice, library, other_user):
    assert str(library["bobs"].id) not in ids(page(alice, q="secrets")["items"])
    assert page(alice, q="secrets")["items"] == []
    bob = Client()
    bob.force_login(other_user)
    assert ids(page(bob, q="zanzibar")["items"]) == [str(library["bobs"].id)]
    assert ids(page(bob, q="milk")["items"]) == []


def test_search_pages_with_a_cursor(user, alice):
    base = timezone.now() - timedelta(hours=1)
    hits = [make_conversation(user, f"c{n}", [("user", f"talk about Pelicans {n}" if n % 2 else "nothing")],
                              when=base + timedelta(seconds=n)) for n in range(11)]
    expected = [str(c.id) for c in reversed(hits) if "Pelicans" in c.messages.get().content]
    seen, pages = walk(alice, 2, q="pelican")
    assert seen == expected and pages == 3


def test_search_treats_like_wildcards_literally(user, alice):
    match = make_conversation(user, "Discounts", [("user", "100% off_today")])
    make_conversation(user, "Other", [("user", "100 percent offXtoday")])
    assert ids(page(alice, q="100% off_")["items"]) == [str(match.id)]
    assert ids(page(alice, q="%")["items"]) == [str(match.id)]


def test_blank_q_lists_everything(user, alice, library):
    assert len(page(alice, q="   ")["items"]) == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_trigram_indexes_exist_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE %s", ["%trgm%"])
        names = {row[0] for row in cursor.fetchall()}
    assert {"chat_message_content_trgm", "chat_conversation_title_trgm"} <= names


def test_unknown_conversation_id_in_cursor_order_is_stable(user, alice):
    # Same updated_at for all: order falls back on id alone, descending.
    now = timezone.now()
    made = [Conversation.objects.create(owner=user, id=uuid.uuid4(), title="t", created_at=now, updated_at=now)
            for _ in range(7)]
    Message.objects.create(conversation=made[0], role="user", content="x")
    seen, _ = walk(alice, 3)
    assert seen == sorted((str(c.id) for c in made), reverse=True)


def test_preview_skips_an_answer_that_has_no_text_yet(user, alice):
    make_conversation(user, "Fresh", [("user", "What is a monad?"), ("assistant", "", {"status": "streaming"})])
    assert page(alice)["items"][0]["preview"] == "What is a monad?"
