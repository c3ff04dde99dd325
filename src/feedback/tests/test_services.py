"""Rating rules and ownership: feedback.services."""
import pytest

from chat.models import Message
from feedback import selectors, services
from feedback.models import Feedback

pytestmark = pytest.mark.django_db


def test_rate_change_and_withdraw(user, answers):
    _, (answer, _) = answers
    services.feedback_set(user=user, message_id=answer.id, rating="down", reason="inaccurate", comment=" wrong year ")
    row = Feedback.objects.get()
    assert (row.rating, row.reason, row.comment, row.user) == ("down", "inaccurate", "wrong year", user)
    services.feedback_set(user=user, message_id=answer.id, rating="up")
    row = Feedback.objects.get()  # still one row per user per message
    assert (row.rating, row.reason, row.comment) == ("up", "", "")
    _, existed = services.feedback_withdraw(user=user, message_id=answer.id)
    assert existed and not Feedback.objects.exists()
    _, existed = services.feedback_withdraw(user=user, message_id=answer.id)
    assert not existed


def test_no_rating_another_users_answer(user, bobs_answers):
    _, (bobs, _) = bobs_answers
    with pytest.raises(services.NotRateable):
        services.feedback_set(user=user, message_id=bobs.id, rating="up")
    with pytest.raises(services.NotRateable):
        services.feedback_withdraw(user=user, message_id=bobs.id)
    assert not Feedback.objects.exists()


def test_only_finished_answers_are_rateable(user, answers):
    _, (answer, _) = answers
    with pytest.raises(services.NotRateable):  # a user message
        services.feedback_set(user=user, message_id=answer.parent_id, rating="up")
    Message.objects.filter(id=answer.id).update(status="streaming")
    with pytest.raises(services.NotRateable):
        services.feedback_set(user=user, message_id=answer.id, rating="up")
    for status in ("stopped", "error", "interrupted"):
        Message.objects.filter(id=answer.id).update(status=status)
        services.feedback_set(user=user, message_id=answer.id, rating="down")


@pytest.mark.parametrize("rating, reason, comment, expected", [
    ("meh", None, None, "rating must be"),
    ("up", "inaccurate", None, "does not go with 'up'"),
    ("down", "helpful", None, "does not go with 'down'"),
    ("down", "nonsense", None, "does not go with"),
    ("down", None, "x" * 2001, "the limit is 2000"),
    ("down", None, "a\x00b", "NUL"),
])
def test_refused_input(user, answers, rating, reason, comment, expected):
    _, (answer, _) = answers
    with pytest.raises(services.InvalidFeedback, match=expected):
        services.feedback_set(user=user, message_id=answer.id, rating=rating, reason=reason, comment=comment)
    assert not Feedback.objects.exists()


def test_the_longest_comment_is_taken(user, answers):
    _, (answer, _) = answers
    services.feedback_set(user=user, message_id=answer.id, rating="down", comment="x" * 2000)
    assert len(Feedback.objects.get().comment) == 2000


def test_a_changed_rating_is_reviewed_afresh(user, admin_user, answers):
    _, (answer, _) = answers
    _, row = services.feedback_set(user=user, message_id=answer.id, rating="up")
    assert services.feedback_mark_reviewed(feedback_ids=[row.id], reviewer=admin_user) == 1
    row.refresh_from_db()
    assert row.reviewed_at is not None and row.reviewed_by == admin_user
    services.feedback_set(user=user, message_id=answer.id, rating="down", reason="unsafe")
    row.refresh_from_db()
    assert row.reviewed_at is None and row.reviewed_by is None
    assert services.feedback_mark_reviewed(feedback_ids=[row.id], reviewer=admin_user) == 1
    assert services.feedback_mark_reviewed(feedback_ids=[row.id], reviewer=None, reviewed=False) == 1
    row.refresh_from_db()
    assert row.reviewed_at is None


def test_conversation_feedback_is_the_users_own(user, other_user, answers, bobs_answers):
    conversation, (first, second) = answers
    services.feedback_set(user=user, message_id=second.id, rating="up")
    bobs_conversation, (bobs, _) = bobs_answers
    services.feedback_set(user=other_user, message_id=bobs.id, rating="down")
    assert set(selectors.conversation_feedback(user=user, conversation_id=conversation.id)) == {str(second.id)}
    assert selectors.conversation_feedback(user=user, conversation_id=bobs_conversation.id) == {}


def test_messages_around_a_rated_answer(user):
    from .conftest import conversation_with_answers

    _, answers = conversation_with_answers(user, answers=10)
    middle = answers[5]
    around = selectors.messages_around(middle, before=4, after=2)
    assert [m.content for m in around] == ["Answer 3", "Question 4", "Answer 4", "Question 5", "Answer 5",
                                           "Question 6", "Answer 6"]
