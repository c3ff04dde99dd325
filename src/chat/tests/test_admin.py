"""The admin at scale: every page renders, costs the same number of queries at 5 rows as at
50 (no N+1), and never counts or de-duplicates the whole messages table.

Timings on 1,000,000 messages: bench/admin.py, docs/admin.md.
"""
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.models import Conversation, Message

pytestmark = pytest.mark.django_db

MODELS = ["model-a", "model-b", "model-c"]
STATUSES = ["complete", "stopped", "error", "interrupted"]


def fill(django_user_model, conversations: int, per_conversation: int = 4, start: int = 0) -> list[Conversation]:
    """Conversations of several owners, alternating user/assistant messages of every kind."""
    owners = [django_user_model.objects.get_or_create(username=f"owner{n}")[0] for n in range(3)]
    now = timezone.now()
    rows, messages = [], []
    for c in range(start, start + conversations):
        conversation = Conversation(owner=owners[c % 3], title=f"Topic {c} about gardening",
                                    created_at=now - timedelta(days=c % 30), updated_at=now - timedelta(minutes=c))
        rows.append(conversation)
        for m in range(per_conversation):
            assistant = m % 2 == 1
            messages.append(Message(
                conversation=conversation,
                role="assistant" if assistant else "user",
                content=f"{'Answer' if assistant else 'Question'} {c}.{m} on soil and seeds",
                reasoning="thinking" if assistant else "",
                status=STATUSES[(c + m) % 4] if assistant else "complete",
                error="Upstream failed." if assistant and (c + m) % 4 == 2 else None,
                model=MODELS[c % 3] if assistant else None,
                input_tokens=10 + m if assistant else None,
                output_tokens=20 + m if assistant else None,
                created_at=now - timedelta(days=c % 30, seconds=per_conversation - m),
            ))
    Conversation.objects.bulk_create(rows)
    Message.objects.bulk_create(messages)
    return rows


def pages(conversation: Conversation, message: Message) -> dict[str, str]:
    # As DateFieldListFilter's "Past 7 days" link writes it (aware datetimes).
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    week = lambda field: "?" + urlencode({  # noqa: E731
        f"{field}__gte": str(today - timedelta(days=7)), f"{field}__lt": str(today + timedelta(days=1)),
    })
    return {
        "conversation list": "/admin/chat/conversation/",
        "conversation search": "/admin/chat/conversation/?q=soil",
        "conversation search by title": "/admin/chat/conversation/?q=gardening",
        "conversation date filter": "/admin/chat/conversation/" + week("updated_at"),
        "conversation change": f"/admin/chat/conversation/{conversation.pk}/change/",
        "message list": "/admin/chat/message/",
        "message search": "/admin/chat/message/?q=seeds",
        "message status filter": "/admin/chat/message/?status__exact=error",
        "message role filter": "/admin/chat/message/?role__exact=assistant",
        "message model filter": "/admin/chat/message/?model=model-b",
        "message date filter": "/admin/chat/message/" + week("created_at"),
        "message change": f"/admin/chat/message/{message.pk}/change/",
    }


def measure(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    return [query["sql"] for query in queries.captured_queries]


def grow(django_user_model, conversation: Conversation, conversations: int, messages: int) -> None:
    """From 5 rows to 50: more conversations, and more messages in the one we open."""
    fill(django_user_model, conversations, start=1000)
    answers = [
        Message(conversation=conversation, role="assistant" if n % 2 else "user", content=f"More soil {n}",
                status="complete", model="model-a" if n % 2 else None, input_tokens=1, output_tokens=2)
        for n in range(messages)
    ]
    Message.objects.bulk_create(answers)


@pytest.fixture
def small(django_user_model):
    rows = fill(django_user_model, 5, per_conversation=2)
    conversation = rows[0]
    message = conversation.messages.filter(role="assistant").first()
    return conversation, message


def test_every_page_renders_for_a_superuser(admin_client, small):
    for name, url in pages(*small).items():
        measure(admin_client, url)


def test_query_count_does_not_grow_with_rows(admin_client, small, django_user_model):
    urls = pages(*small)
    before = {name: len(measure(admin_client, url)) for name, url in urls.items()}
    grow(django_user_model, small[0], conversations=45, messages=48)
    after = {name: len(measure(admin_client, url)) for name, url in urls.items()}
    assert after == before


def test_no_count_or_distinct_over_a_whole_table(admin_client, small, django_user_model):
    grow(django_user_model, small[0], conversations=45, messages=48)
    for name, url in pages(*small).items():
        for sql in measure(admin_client, url):
            if re.search(r"COUNT\(", sql, re.I):
                bounded = "LIMIT" in sql.upper()
                per_page = re.search(r'"conversation_id" IN \(', sql) and "GROUP BY" in sql.upper()
                assert bounded or per_page, f"{name}: unbounded count: {sql[:300]}"
            if re.search(r"SELECT DISTINCT", sql, re.I):
                assert "LIMIT" in sql.upper(), f"{name}: DISTINCT over a whole table: {sql[:300]}"


def test_message_list_shows_preview_owner_status_and_tokens(admin_client, django_user_model):
    conversation = fill(django_user_model, 1, per_conversation=2)[0]
    Message.objects.filter(role="assistant").update(content="x" * 500, input_tokens=12, output_tokens=34)
    html = admin_client.get("/admin/chat/message/").content.decode()
    assert "x" * 119 + "…" in html and "x" * 121 not in html
    assert conversation.owner.username in html
    assert "12 / 34" in html
    assert Message.objects.get(role="assistant").status in html


def test_conversation_page_lists_messages_read_only(admin_client, django_user_model):
    conversation = fill(django_user_model, 1, per_conversation=4)[0]
    html = admin_client.get(f"/admin/chat/conversation/{conversation.pk}/change/").content.decode()
    for message in conversation.messages.all():
        assert message.content in html
    assert 'name="messages-0-content"' not in html
    assert 'name="messages-MAX_NUM_FORMS" value="0"' in html  # nothing can be added


def test_search_and_filters_narrow_the_lists(admin_client, django_user_model):
    fill(django_user_model, 6, per_conversation=4)
    Conversation.objects.filter(title="Topic 3 about gardening").update(title="Compost notes")
    Message.objects.filter(content="Question 4.0 on soil and seeds").update(content="Where do earthworms live?")

    def shown(url):
        return admin_client.get(url).content.decode()

    by_title = shown("/admin/chat/conversation/?q=compost")
    assert "Compost notes" in by_title and "Topic 1 about" not in by_title
    by_text = shown("/admin/chat/conversation/?q=earthworms")
    assert "Topic 4 about" in by_text and "Topic 1 about" not in by_text
    assert "earthworms" in shown("/admin/chat/message/?q=EARTHWORMS")
    errors = shown("/admin/chat/message/?status__exact=error")
    assert "Answer" in errors and "Question" not in errors
    users = shown("/admin/chat/message/?role__exact=user")
    assert "Question" in users and "Answer" not in users
    model_b = shown("/admin/chat/message/?model=model-b")
    assert "Answer 1." in model_b and "Answer 0." not in model_b
    assert "model-a" in shown("/admin/chat/message/")  # the filter offers recent models
