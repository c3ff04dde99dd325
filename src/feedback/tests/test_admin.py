"""The feedback queue: filters, the conversation around a rated answer, marking reviewed,
ratings on chat's conversation page, and a constant number of queries per page."""
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat.models import Conversation, Message
from feedback.models import Feedback

from .conftest import conversation_with_answers

pytestmark = pytest.mark.django_db

QUEUE = "/admin/feedback/feedback/"


def rate(owner, n: int, *, model="model-a", days_ago=0, start=0) -> list[Feedback]:
    """n rated answers of `owner`: alternately down (with a reason and comment) and up."""
    _, answers = conversation_with_answers(owner, answers=n, model=model)
    rows = []
    for index, answer in enumerate(answers):
        down = (start + index) % 2 == 0
        when = timezone.now() - timedelta(days=days_ago, minutes=index)
        rows.append(Feedback(message=answer, user=owner, rating="down" if down else "up",
                             reason="inaccurate" if down else "helpful", comment=f"Note {start + index}",
                             created_at=when, updated_at=when))
    return Feedback.objects.bulk_create(rows)


def shown(client, query: str = "") -> set[str]:
    """The comments of the rows a queue page lists."""
    response = client.get(QUEUE + query)
    assert response.status_code == 200, response.status_code
    return set(re.findall(r"Note \d+", response.content.decode()))


def test_queue_filters(admin_client, user, other_user):
    rate(user, 4, model="model-a")  # Notes 0-3: 0 and 2 down
    rate(other_user, 2, model="model-b", days_ago=40, start=10)  # Notes 10 (down), 11
    assert shown(admin_client) == {"Note 0", "Note 1", "Note 2", "Note 3", "Note 10", "Note 11"}
    assert shown(admin_client, "?rating__exact=down") == {"Note 0", "Note 2", "Note 10"}
    assert shown(admin_client, "?reason__exact=helpful") == {"Note 1", "Note 3", "Note 11"}
    assert shown(admin_client, "?model=model-b") == {"Note 10", "Note 11"}
    assert "<td class=\"field-answer_model\">model-b</td>" in admin_client.get(QUEUE).content.decode()
    assert shown(admin_client, f"?user={other_user.pk}") == {"Note 10", "Note 11"}
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    week = urlencode({"updated_at__gte": str(today - timedelta(days=7)),
                      "updated_at__lt": str(today + timedelta(days=1))})
    assert shown(admin_client, "?" + week) == {"Note 0", "Note 1", "Note 2", "Note 3"}
    assert shown(admin_client, "?rating__exact=down&model=model-a") == {"Note 0", "Note 2"}
    Feedback.objects.filter(comment="Note 0").update(reviewed_at=timezone.now())
    assert shown(admin_client, "?reviewed=no&rating__exact=down") == {"Note 2", "Note 10"}
    assert shown(admin_client, "?reviewed=yes") == {"Note 0"}
    assert shown(admin_client, "?q=Note+11") == {"Note 11"}


def test_queue_is_newest_first(admin_client, user):
    rate(user, 3)
    html = admin_client.get(QUEUE).content.decode()
    assert [int(n) for n in re.findall(r"Note (\d+)", html)] == [0, 1, 2]


def test_mark_reviewed_action(admin_client, admin_user, user):
    rows = rate(user, 3)
    response = admin_client.post(QUEUE, {"action": "mark_reviewed", "_selected_action": [rows[0].pk, rows[1].pk]})
    assert response.status_code == 302
    reviewed = Feedback.objects.filter(reviewed_at__isnull=False)
    assert {f.pk for f in reviewed} == {rows[0].pk, rows[1].pk}
    assert {f.reviewed_by for f in reviewed} == {admin_user}
    admin_client.post(QUEUE, {"action": "mark_not_reviewed", "_selected_action": [rows[0].pk]})
    assert Feedback.objects.filter(reviewed_at__isnull=False).count() == 1


def test_change_page_shows_the_conversation_around_the_answer(admin_client, user):
    _, answers = conversation_with_answers(user, answers=10)
    middle = answers[5]
    feedback = Feedback.objects.create(message=middle, user=user, rating="down", reason="unsafe")
    html = admin_client.get(f"{QUEUE}{feedback.pk}/change/").content.decode()
    for text in ("Answer 3", "Question 5", "Answer 5", "Answer 6"):
        assert text in html
    for text in ("Answer 1", "Question 3", "Answer 8"):
        assert text not in html
    assert f"/admin/chat/conversation/{middle.conversation_id}/change/" in html


def test_conversation_page_shows_ratings_inline(admin_client, user):
    conversation, (first, second) = conversation_with_answers(user)
    Feedback.objects.create(message=second, user=user, rating="down", reason="incomplete", comment="Cut short")
    html = admin_client.get(f"/admin/chat/conversation/{conversation.pk}/change/").content.decode()
    assert "👎 down (incomplete · Cut short)" in html
    assert html.count("👍") + html.count("👎") == 1


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_query_counts_stay_constant(admin_client, user, other_user, django_assert_max_num_queries):
    rows = rate(user, 5)
    conversation = Conversation.objects.get(messages=rows[0].message)
    urls = [QUEUE, QUEUE + "?rating__exact=down", QUEUE + "?model=model-a", QUEUE + f"?user={user.pk}",
            QUEUE + "?reviewed=no", f"{QUEUE}{rows[0].pk}/change/",
            f"/admin/chat/conversation/{conversation.pk}/change/"]
    before = {url: count_queries(admin_client, url) for url in urls}
    rate(other_user, 45, model="model-b", start=100)
    Message.objects.bulk_create([Message(conversation=conversation, role="assistant", content=f"More {n}",
                                         model="model-a") for n in range(45)])
    for url in urls:
        with django_assert_max_num_queries(before[url]):
            admin_client.get(url)
