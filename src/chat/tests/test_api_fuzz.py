"""Property-based fuzzing of the HTTP API from its own OpenAPI schema: no input gives a 5xx.

Schemathesis serves the real ASGI application in its own event-loop thread, as a logged-in
user with a CSRF token. Half of the generated conversation ids are swapped for one of the
user's real conversations, so rename, export, delete and SSE sends reach real rows. The
LLM is the demo provider without delay (test settings), so answers end at once.
"""
import time

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings

from chat.models import Conversation, Message
from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

schema = schemathesis.openapi.from_asgi("/api/openapi.json", application)
CSRF = "f" * 32
EXAMPLES = 30  # per operation and pass: bin/test fuzzes on SQLite, then on PostgreSQL


@pytest.fixture
def login(user):
    client = Client()
    client.force_login(user)
    conversation = Conversation.objects.create(owner=user, title="Fuzzed")
    Message.objects.create(conversation=conversation, role="user", content="hello")
    yield {"user": user, "cookie": client.cookies["sessionid"].value, "conversation_id": str(conversation.id)}
    # Let demo answers started by the fuzzer end before the database is flushed.
    deadline = time.monotonic() + 10
    while Message.objects.filter(status="streaming").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_input_makes_the_api_fail(case, login):
    params = case.path_parameters or {}
    if "conversation_id" in params and str(params["conversation_id"])[-1:] in "02468ace":
        if not Conversation.objects.filter(id=login["conversation_id"]).exists():
            Conversation.objects.create(id=login["conversation_id"], owner=login["user"], title="Again")
        params["conversation_id"] = login["conversation_id"]
    response = case.call(
        headers={"X-CSRFToken": CSRF},
        cookies={"sessionid": login["cookie"], "csrftoken": CSRF},
        timeout=20,
    )
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
    if response.status_code >= 400 and response.status_code != 405:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
