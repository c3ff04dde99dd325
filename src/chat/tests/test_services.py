import uuid

import pytest
from django.test import Client
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import selectors, services
from llm import Usage
from chat.models import Conversation, Message


@pytest.mark.parametrize("content,title", [
    ("Hello there", "Hello there"),
    ("\n\n  # How do   I *bake* bread?\nmore lines", "How do I bake bread?"),
    ("`code` question", "code question"),
    ("word " * 40, "word word word word word word word word word word word word…"),
    ("   \n  ", "New chat"),
])
def test_make_title(content, title):
    assert services.make_title(content) == title
    assert len(services.make_title(content)) <= services.TITLE_MAX + 1


def send(user, conversation_id, content, client_id=None):
    return services.message_send(user=user, conversation_id=conversation_id, content=content,
                                 client_id=client_id, model="m")


@pytest.mark.django_db
def test_send_creates_conversation_titled_and_opens_answer(user):
    cid = uuid.uuid4()
    opened = send(user, cid, "What is a delta?", "c1")
    assert opened.conversation_created and opened.titled
    assert opened.conversation.title == "What is a delta?"
    assert opened.answer.status == "streaming" and opened.answer.parent_id == opened.user_message.id
    assert opened.answer.created_at > opened.user_message.created_at


@pytest.mark.django_db
def test_send_is_idempotent_busy_and_owned(user, other_user):
    cid = uuid.uuid4()
    first = send(user, cid, "one", "c1")
    again = send(user, cid, "one", "c1")
    assert again.duplicate and again.user_message.id == first.user_message.id
    with pytest.raises(services.Busy):
        send(user, cid, "two", "c2")
    with pytest.raises(services.NotOwner):
        send(other_user, cid, "mine?", "c3")
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_context_uses_latest_answers_and_system_prompt(user):
    cid = uuid.uuid4()
    first = send(user, cid, "Q1")
    services.answer_finish(answer_id=first.answer.id, status="complete", content="A1-old", reasoning="r", seq=1)
    regenerated = services.answer_regenerate(user=user, conversation_id=cid, model="m")
    services.answer_finish(answer_id=regenerated.id, status="complete", content="A1-new", reasoning="", seq=1)
    second = send(user, cid, "Q2")
    services.answer_finish(answer_id=second.answer.id, status="error", content="", reasoning="", seq=0,
                           error="boom")
    third = send(user, cid, "Q3")
    context = selectors.answer_context(conversation_id=cid, question=third.user_message, system_prompt="Be brief.")
    assert context.messages == [("system", "Be brief."), ("user", "Q1"), ("assistant", "A1-new"), ("user", "Q2"),
                                ("user", "Q3")]
    assert context.omitted == 0


@pytest.mark.django_db
def test_regenerate_needs_a_question_and_no_running_answer(user, other_user):
    cid = uuid.uuid4()
    with pytest.raises(services.NothingToAnswer):
        services.answer_regenerate(user=user, conversation_id=cid, model="m")
    opened = send(user, cid, "Q")
    with pytest.raises(services.Busy):
        services.answer_regenerate(user=user, conversation_id=cid, model="m")
    services.answer_finish(answer_id=opened.answer.id, status="complete", content="A", reasoning="", seq=1)
    with pytest.raises(services.NotOwner):
        services.answer_regenerate(user=other_user, conversation_id=cid, model="m")
    again = services.answer_regenerate(user=user, conversation_id=cid, model="m")
    assert again.parent_id == opened.user_message.id


@pytest.mark.django_db
def test_interrupt_only_touches_streaming_answers(user):
    opened = send(user, uuid.uuid4(), "Q")
    interrupted = services.answer_interrupt(answer_id=opened.answer.id, content="part", reasoning="", seq=2)
    assert (interrupted.status, interrupted.content, interrupted.seq) == ("interrupted", "part", 2)
    assert services.answer_interrupt(answer_id=opened.answer.id) is None


@pytest.mark.django_db
def test_partial_saves_of_several_answers_in_one_statement_never_undo_a_final_save(user, django_assert_num_queries):
    answers = [send(user, uuid.uuid4(), f"question {n}").answer for n in range(3)]
    services.answer_finish(answer_id=answers[2].id, status="complete", content="final", reasoning="", seq=9)
    rows = [(a.id, f"partial {n}", "", n + 1) for n, a in enumerate(answers)]
    with django_assert_num_queries(1):
        services.answers_save_partial(rows=rows)
    stored = {m.id: m for m in Message.objects.filter(id__in=[a.id for a in answers])}
    assert [(stored[a.id].content, stored[a.id].seq) for a in answers[:2]] == [("partial 0", 1), ("partial 1", 2)]
    assert (stored[answers[2].id].status, stored[answers[2].id].content) == ("complete", "final")


@pytest.mark.django_db
def test_a_partial_save_is_one_statement_for_many_answers_not_one_per_answer(user, monkeypatch, settings):
    """One UPDATE for all rows (up to PARTIAL_ROWS_PER_STATEMENT), not executemany: a
    statement per row hands the interpreter lock back at each row, and on a busy process
    each hand-back waits for the loop while every send queues behind the save."""
    monkeypatch.setattr(services, "PARTIAL_ROWS_PER_STATEMENT", 2)
    settings.CHAT_MAX_ANSWERS_PER_USER = 5
    answers = [send(user, uuid.uuid4(), f"question {n}").answer for n in range(5)]
    rows = [(str(a.id), f"partial {n} ünïcode", f"thought {n}", n + 1) for n, a in enumerate(answers)]
    with CaptureQueriesContext(connection) as captured:
        services.answers_save_partial(rows=rows)
    updates = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()]
    assert len(updates) == 3 and not any(" times: " in sql for sql in updates), updates  # (executemany's mark)
    stored = {str(m.id): m for m in Message.objects.filter(id__in=[a.id for a in answers])}
    assert [(stored[i].content, stored[i].reasoning, stored[i].seq, stored[i].status) for i, *_ in rows] == [
        (f"partial {n} ünïcode", f"thought {n}", n + 1, "streaming") for n in range(5)]
    assert all(stored[str(a.id)].updated_at > a.updated_at for a in answers)


def _statements(captured) -> tuple[list[str], list[str]]:
    sqls = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"].upper()]
    return [sql.split()[0].upper() for sql in sqls], sqls


@pytest.mark.django_db
def test_a_follow_up_send_takes_few_statements(user, django_assert_num_queries):
    """Under load every statement of a send waits for the ORM thread and the interpreter lock:
    the socket's two database hops of a follow-up question stay this short."""
    from chat import protocol, sending

    cid = uuid.uuid4()
    first = send(user, cid, "one", "c1")
    services.answer_finish(answer_id=first.answer.id, status="complete", content="A1", reasoning="", seq=1)
    frame = protocol.parse_client_frame('{"type": "message.send", "content": "two", "client_id": "c2"}')
    client = Client()
    client.force_login(user)
    key = client.cookies["sessionid"].value
    # The conversation with its messages, the socket's session check riding on it: one query.
    with django_assert_num_queries(1):
        earlier, streaming, look, guess = sending._before_send(check_session=True, session_key=key, user=user,
                                                               conversation_id=cid, send=frame)
    assert (earlier, streaming) == (None, [])
    client.logout()
    with pytest.raises(sending.SessionEnded):
        sending._before_send(check_session=True, session_key=key, user=user, conversation_id=cid, send=frame)
    assert guess.context == [("user", "one"), ("assistant", "A1"), ("user", "two")]
    # Lock the user (not on SQLite: no row locks, its write transactions run one at a time),
    # lock the conversation, check for room, both messages in one INSERT, the conversation's
    # new end: five, four on SQLite (plus BEGIN and COMMIT, savepoints here). The context
    # is the first hop's guess, which the stored send confirms.
    with CaptureQueriesContext(connection) as captured:
        opened, context, guessed = sending._open_send(user=user, conversation_id=cid, send=frame, look=look,
                                                      guess=guess)
    statements, sqls = _statements(captured)
    user_locks = 1 if connection.features.has_select_for_update else 0
    assert statements == ["SELECT"] * (user_locks + 2) + ["INSERT", "UPDATE"], statements
    assert sum(user._meta.db_table in sql for sql in sqls) == user_locks, sqls
    assert guessed and context == [("user", "one"), ("assistant", "A1"), ("user", "two")]
    assert opened.answer.parent_id == opened.user_message.id


@pytest.mark.django_db
def test_the_first_send_of_a_conversation_takes_few_statements(user, django_assert_num_queries):
    """A new conversation: the first hop finds no message (and reads the user's last choice
    for its guess), so the second does not look for the conversation under lock, and inserts
    it with its end at once."""
    from chat import protocol, sending

    cid = uuid.uuid4()
    frame = protocol.parse_client_frame('{"type": "message.send", "content": "hello", "client_id": "c1"}')
    with django_assert_num_queries(2):
        earlier, streaming, look, guess = sending._before_send(check_session=False, session_key=None, user=user,
                                                               conversation_id=cid, send=frame)
    assert (earlier, streaming, look.conversation, guess.context) == (None, [], None, [("user", "hello")])
    with CaptureQueriesContext(connection) as captured:
        opened, context, guessed = sending._open_send(user=user, conversation_id=cid, send=frame, look=look,
                                                      guess=guess)
    statements, sqls = _statements(captured)
    user_locks = 1 if connection.features.has_select_for_update else 0
    # (the user's lock,) room, the conversation, both messages
    assert statements == ["SELECT"] * (user_locks + 1) + ["INSERT", "INSERT"], statements
    assert opened.conversation_created and guessed and context == [("user", "hello")]
    stored = Conversation.objects.get(id=cid)
    assert (stored.active_leaf_id, stored.title) == (opened.answer.id, "hello")


@pytest.mark.django_db
def test_a_send_that_thought_its_conversation_new_goes_on_in_the_one_created_since(user):
    """The first hop found no message; by the transaction another send created the
    conversation. The insert fails (on PostgreSQL when the pipeline ends), and the second
    try stores the question in it, or finds a repeat."""
    cid = uuid.uuid4()
    first = send(user, cid, "one", "c1")
    services.answer_finish(answer_id=first.answer.id, status="complete", content="A1", reasoning="", seq=1)
    opened = services.message_send(user=user, conversation_id=cid, content="two", client_id="c2", seen_new=True)
    assert not opened.conversation_created and not opened.duplicate
    assert opened.user_message.parent_id == first.answer.id
    assert Conversation.objects.get(id=cid).active_leaf_id == opened.answer.id
    services.answer_finish(answer_id=opened.answer.id, status="complete", content="A2", reasoning="", seq=1)
    again = services.message_send(user=user, conversation_id=cid, content="two", client_id="c2", seen_new=True)
    assert again.duplicate and again.user_message.id == opened.user_message.id
    assert Message.objects.filter(conversation_id=cid).count() == 4


def _round_trips(work):
    """How often the client waited for PostgreSQL during `work` (libpq's trace: a message
    from the server after one to it), and what `work` returned."""
    import tempfile

    from psycopg import pq

    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            result = work()
        finally:
            pgconn.untrace()
        trace.seek(0)
        sides = [line.split("\t", 1)[0] for line in trace.read().splitlines() if line]
    return sum(a == "F" and b == "B" for a, b in zip(sides, sides[1:])), result


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only: the pipeline")
@pytest.mark.django_db(transaction=True)
def test_a_send_waits_for_postgresql_three_times_at_most(user):
    """BEGIN; the user's lock with the room's read and, for a follow-up, the conversation's
    lock; both INSERTs (and the UPDATE of a follow-up) with the COMMIT. Seven round trips
    before the pipeline, five for a follow-up while the room was read on its own, four while
    the COMMIT went out after the writes came back; a first question's last choice is read
    in the first hop."""
    from chat import protocol, sending

    cid = uuid.uuid4()
    frame = protocol.parse_client_frame('{"type": "message.send", "content": "hello", "client_id": "c1"}')
    _, _, look, guess = sending._before_send(check_session=False, session_key=None, user=user, conversation_id=cid,
                                             send=frame)
    trips, (opened, _, _) = _round_trips(lambda: sending._open_send(user=user, conversation_id=cid, send=frame,
                                                                    look=look, guess=guess))
    assert opened.conversation_created and trips == 3
    services.answer_finish(answer_id=opened.answer.id, status="complete", content="A1", reasoning="", seq=1)
    frame = protocol.parse_client_frame('{"type": "message.send", "content": "two", "client_id": "c2"}')
    look = sending._before_send(check_session=False, session_key=None, user=user, conversation_id=cid, send=frame)[2]
    trips, (opened, context, _) = _round_trips(
        lambda: sending._open_send(user=user, conversation_id=cid, send=frame, look=look))
    assert not opened.conversation_created and trips == 3
    assert context == [("user", "hello"), ("assistant", "A1"), ("user", "two")]
    assert Conversation.objects.get(id=cid).active_leaf_id == opened.answer.id


@pytest.mark.django_db
def test_an_answer_is_finished_in_two_statements_and_comes_back_as_stored(user):
    first = send(user, uuid.uuid4(), "one", "c1")
    with CaptureQueriesContext(connection) as captured:
        answer = services.answer_finish(answer_id=first.answer.id, status="stopped", content="so far", reasoning="r",
                                        seq=3, usage=Usage(input_tokens=5, output_tokens=2))
    assert [q["sql"].split()[0].upper() for q in captured.captured_queries] == ["UPDATE", "UPDATE"]
    stored = Message.objects.get(id=first.answer.id)
    for message in (answer, stored):
        assert (message.status, message.content, message.reasoning, message.seq) == ("stopped", "so far", "r", 3)
        assert (message.input_tokens, message.output_tokens, message.error) == (5, 2, None)
    assert answer.created_at == stored.created_at and answer.parent_id == first.user_message.id
    assert stored.conversation.updated_at == stored.updated_at
    Message.objects.filter(id=first.answer.id).delete()
    assert services.answer_finish(answer_id=first.answer.id, status="complete", content="", reasoning="", seq=0) is None
