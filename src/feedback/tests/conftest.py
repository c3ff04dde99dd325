"""A conversation of Alice's with answers to rate, and one of Bob's."""
import pytest
from django.utils import timezone

from chat.models import Conversation, Message


def conversation_with_answers(owner, answers: int = 2, model: str = "model-a", status: str = "complete"):
    conversation = Conversation.objects.create(owner=owner, title="Soil")
    rows = []
    now = timezone.now()
    for n in range(answers):
        question = Message.objects.create(conversation=conversation, role="user", content=f"Question {n}",
                                          created_at=now + timezone.timedelta(seconds=2 * n))
        rows.append(Message.objects.create(
            conversation=conversation, role="assistant", content=f"Answer {n}", status=status, model=model,
            parent=question, created_at=now + timezone.timedelta(seconds=2 * n + 1)))
    return conversation, rows


@pytest.fixture
def answers(user):
    return conversation_with_answers(user)


@pytest.fixture
def bobs_answers(other_user):
    return conversation_with_answers(other_user, model="model-b")

