"""Answers over SSE, read as a client would, through the real ASGI application.

Requests are driven at the ASGI level (the same `config.asgi.application` Daphne
serves), with a real session cookie and CSRF token, so a test can also hang up mid-stream
the way a browser or `curl` does. Tests that take `chat_layer` run on both layers.
"""
import asyncio
import json
import uuid

import pytest
from asgiref.testing import ApplicationCommunicator

from chat import api_sse
from chat.generation import wait_all
from chat.models import Conversation, Message
from config.asgi import application
from tests.fake_upstream import Scenario

from .ws import open_chat, until_done

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = " ".join(f"word{n}" for n in range(80))
LONG = " ".join(f"word{n}" for n in range(300))  # ~6 s at 0.02 s a token: time to stop it
CSRF = "t" * 32


class Response:
    """One HTTP exchange with the ASGI app; the body is read as it streams."""

    def __init__(self, communicator: ApplicationCommunicator):
        self.communicator = communicator
        self.status = None
        self.headers: dict[str, str] = {}
        self.buffer = b""
        self.finished = False

    async def start(self, timeout=10):
        message = await self.communicator.receive_output(timeout)
        assert message["type"] == "http.response.start", message
        self.status = message["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        return self

    async def chunk(self, timeout=10) -> bool:
        """Read one body message; False once the body has ended."""
        if self.finished:
            return False
        message = await self.communicator.receive_output(timeout)
        assert message["type"] == "http.response.body"
        self.buffer += message.get("body", b"")
        self.finished = not message.get("more_body", False)
        return True

    async def body(self, timeout=10) -> bytes:
        while await self.chunk(timeout):
            pass
        await self.communicator.wait(timeout)
        return self.buffer

    async def json(self):
        return json.loads(await self.body())

    def events(self) -> list[tuple[str, dict]]:
        """The complete SSE events received so far, as (event, data)."""
        events = []
        for block in self.buffer.decode().split("\n\n")[:-1]:
            fields = [line.split(": ", 1) for line in block.split("\n") if line and not line.startswith(":")]
            if fields:
                named = dict(fields)
                events.append((named["event"], json.loads(named["data"])))
        return events

    async def events_until(self, predicate, timeout=10) -> list[tuple[str, dict]]:
        async with asyncio.timeout(timeout):
            while not any(predicate(name, data) for name, data in self.events()):
                assert await self.chunk(timeout), "the stream ended first"
        return self.events()

    async def hang_up(self):
        await self.communicator.send_input({"type": "http.disconnect"})
        await self.communicator.wait(5)


async def request(method, path, cookie=None, body=None, csrf=True) -> Response:
    headers = [(b"host", b"testserver")]
    cookies = [f"sessionid={cookie}"] if cookie else []
    if csrf:
        cookies.append(f"csrftoken={CSRF}")
        headers.append((b"x-csrftoken", CSRF.encode()))
    if cookies:
        headers.append((b"cookie", "; ".join(cookies).encode()))
    payload = b""
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers.append((b"content-type", b"application/json"))
    path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    communicator = ApplicationCommunicator(application, scope)
    await communicator.send_input({"type": "http.request", "body": payload})
    return await Response(communicator).start()


def send(cid, cookie, content="Hello there", client_id=None, **body):
    body = {"content": content, **body}
    if client_id is not None:
        body["client_id"] = client_id
    return request("POST", f"/api/conversations/{cid}/messages/", cookie, body)


def is_done(name, data):
    return name == "message.done"


def content_of(events) -> str:
    return "".join(d["delta"] for n, d in events if n == "message.delta" and d["part"] == "content")


async def stored_answer(cid, timeout=10) -> Message:
    async with asyncio.timeout(timeout):
        while True:
            answer = await Message.objects.filter(conversation_id=cid, role="assistant").order_by("-created_at").afirst()
            if answer is not None and answer.status != "streaming":
                return answer
            await asyncio.sleep(0.05)


# --- a whole answer ---------------------------------------------------------------------------------
async def test_answer_streams_as_server_sent_events(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(WORDS, delay=0.001, usage=(5, 80)))
    cid = uuid.uuid4()
    response = await send(cid, alice, "Hello there", client_id="c1")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    raw = (await response.body()).decode()
    assert raw.startswith("event: conversation.updated\ndata: {")
    events = response.events()
    names = [name for name, _ in events]
    assert names[:3] == ["conversation.updated", "message.created", "message.created"]
    assert names[-1] == "message.done" and names.count("message.done") == 1
    assert all(data["type"] == name for name, data in events)
    assert events[0][1]["conversation"] == {**events[0][1]["conversation"], "id": str(cid), "title": "Hello there"}
    question, answer = events[1][1]["message"], events[2][1]["message"]
    assert (question["role"], question["content"], question["client_id"]) == ("user", "Hello there", "c1")
    assert (answer["role"], answer["status"], answer["parent_id"]) == ("assistant", "streaming", question["id"])
    deltas = [data for name, data in events if name == "message.delta"]
    assert deltas and [d["seq"] for d in deltas] == list(range(1, len(deltas) + 1))
    assert {d["message_id"] for d in deltas} == {answer["id"]}
    done = events[-1][1]["message"]
    assert done["id"] == answer["id"]
    assert done["content"] == content_of(events) == WORDS
    assert (done["status"], done["seq"], done["usage"]) == ("complete", len(deltas), {"input_tokens": 5, "output_tokens": 80})
    stored = await Message.objects.aget(id=done["id"])
    assert (stored.content, stored.status) == (WORDS, "complete")
    # A second message in the same conversation: no conversation.updated this time.
    llm.enqueue(Scenario.words("Second answer."))
    again = await send(cid, alice, "And again")
    await again.body()
    assert [n for n, _ in again.events()][:2] == ["message.created", "message.created"]
    assert again.events()[-1][1]["message"]["content"] == "Second answer."
    assert llm.requests[-1]["messages"][-1]["content"] == "And again"


async def test_a_socket_sees_the_frames_of_an_sse_send(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(WORDS, delay=0.001))
    cid = uuid.uuid4()
    socket, _ = await open_chat(alice, cid)
    response = await send(cid, alice)
    await response.body()
    frames = await until_done(socket)
    assert frames == [data for _, data in response.events()]
    await socket.disconnect()


async def test_hanging_up_does_not_stop_the_answer(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(WORDS, delay=0.01))
    cid = uuid.uuid4()
    response = await send(cid, alice)
    await response.events_until(lambda name, data: name == "message.delta" and data["seq"] >= 2)
    await response.hang_up()
    answer = await stored_answer(cid)
    assert (answer.status, answer.content) == ("complete", WORDS)
    await wait_all()


async def test_keep_alive_comments_during_silence(llm, alice, monkeypatch):
    monkeypatch.setattr(api_sse, "KEEPALIVE_SECONDS", 0.05)
    llm.enqueue(Scenario(content=["slow", " answer"], delay=0.4))
    response = await send(uuid.uuid4(), alice)
    raw = (await response.body()).decode()
    assert "\n\n: keep-alive\n\n" in raw
    assert response.events()[-1][1]["message"]["content"] == "slow answer"


# --- idempotency ---------------------------------------------------------------------------------
async def test_repeated_client_id_replays_the_earlier_message_and_its_end(chat_layer, llm, alice):
    llm.enqueue(Scenario.words("Only once."))
    cid = uuid.uuid4()
    first = await send(cid, alice, "Hi", client_id="same")
    await first.body()
    question = first.events()[1][1]["message"]
    done = first.events()[-1][1]
    again = await send(cid, alice, "Hi", client_id="same")
    assert again.status == 200
    await again.body()
    assert again.events() == [("message.created", {"type": "message.created", "message": question}),
                              ("message.done", done)]
    assert await Message.objects.filter(conversation_id=cid).acount() == 2
    assert len(llm.requests) == 1


async def test_repeated_client_id_while_answering_replays_the_message_only(llm, alice):
    llm.enqueue(Scenario.words(WORDS, delay=0.01))
    cid = uuid.uuid4()
    first = await send(cid, alice, "Hi", client_id="same")
    await first.events_until(lambda name, _: name == "message.delta")
    again = await send(cid, alice, "Hi", client_id="same")
    await again.body()
    assert [name for name, _ in again.events()] == ["message.created"]
    await first.body()
    assert first.events()[-1][1]["message"]["status"] == "complete"


# --- refusals ----------------------------------------------------------------------------------------
async def test_busy_is_409_and_stop_ends_the_answer_stopped(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(LONG, delay=0.02))
    cid = uuid.uuid4()
    first = await send(cid, alice)
    await first.events_until(lambda name, data: name == "message.delta" and data["seq"] >= 2)
    busy = await send(cid, alice, "Me too")
    assert busy.status == 409
    assert (await busy.json())["error"]["code"] == "busy"
    stop = await request("POST", f"/api/conversations/{cid}/stop/", alice)
    assert stop.status == 202
    await stop.body()
    await asyncio.wait_for(first.body(), 10)
    done = first.events()[-1][1]["message"]
    assert done["status"] == "stopped"
    assert LONG.startswith(done["content"]) and done["content"] != LONG
    assert done["content"] == content_of(first.events())
    assert (await Message.objects.aget(id=done["id"])).status == "stopped"
    assert await Message.objects.filter(content="Me too").acount() == 0


async def test_rate_limited_is_429_with_retry_after(chat_layer, settings, llm, alice):
    settings.CHAT_RATE_LIMIT = "1/h"
    first = await send(uuid.uuid4(), alice)
    assert first.status == 200
    await first.body()
    refused = await send(uuid.uuid4(), alice)
    assert refused.status == 429
    assert int(refused.headers["retry-after"]) >= 1
    error = (await refused.json())["error"]
    assert error["code"] == "rate_limited" and "1/h" in error["message"]


@pytest.mark.parametrize("body,status,code", [
    ({"content": "   "}, 400, "bad_request"),
    ({"content": "hi", "client_id": ""}, 400, "bad_request"),
    ({"content": "hi", "client_id": "x" * 101}, 400, "bad_request"),
    ({"content": "x" * 11}, 422, "too_long"),
    ({"content": 5}, 422, "invalid"),
    ({}, 422, "invalid"),
    ({"content": "hi", "type": "message.send", "extra": True}, 422, "invalid"),
    ({"content": "nul \x00 byte"}, 400, "bad_request"),  # as on the socket
    ({"content": "hi", "client_id": "nul\x00"}, 400, "bad_request"),
    (b"{not json", 400, "bad_request"),
])
async def test_bad_messages_are_refused_with_json_errors(settings, llm, alice, body, status, code):
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    cid = uuid.uuid4()
    response = await request("POST", f"/api/conversations/{cid}/messages/", alice, body)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code
    assert not await Conversation.objects.filter(id=cid).aexists()
    assert llm.requests == []


async def test_another_users_conversation_is_404_for_send_and_stop(llm, alice, bob):
    cid = uuid.uuid4()
    await (await send(cid, alice)).body()
    for path, body in ((f"/api/conversations/{cid}/messages/", {"content": "hi"}),
                       (f"/api/conversations/{cid}/stop/", None)):
        response = await request("POST", path, bob, body)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
    assert await Message.objects.filter(conversation_id=cid).acount() == 2
    unknown = await request("POST", f"/api/conversations/{uuid.uuid4()}/stop/", alice)
    assert unknown.status == 404


async def test_without_csrf_token_or_session(llm, alice):
    cid = uuid.uuid4()
    no_token = await request("POST", f"/api/conversations/{cid}/messages/", alice, {"content": "hi"}, csrf=False)
    assert no_token.status == 403
    assert (await no_token.json())["error"]["code"] == "csrf_failed"
    anonymous = await request("POST", f"/api/conversations/{cid}/messages/", None, {"content": "hi"})
    assert anonymous.status == 401
    assert not await Conversation.objects.filter(id=cid).aexists()


# --- rename and delete while a socket or an answer is open -----------------------------------------------
async def test_rename_reaches_open_sockets(chat_layer, llm, alice):
    cid = uuid.uuid4()
    await (await send(cid, alice)).body()
    socket, _ = await open_chat(alice, cid)
    response = await request("PATCH", f"/api/conversations/{cid}/", alice, {"title": "  Renamed  "})
    assert response.status == 200
    renamed = await response.json()
    frame = await socket.receive_json_from(timeout=5)
    assert frame == {"type": "conversation.updated", "conversation": renamed}
    assert renamed["title"] == "Renamed"
    await socket.disconnect()


async def test_delete_stops_a_running_answer_first(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(LONG, delay=0.02))
    cid = uuid.uuid4()
    stream = await send(cid, alice)
    await stream.events_until(lambda name, _: name == "message.delta")
    response = await request("DELETE", f"/api/conversations/{cid}/", alice)
    assert response.status == 204
    await asyncio.wait_for(stream.body(), 10)
    assert stream.events()[-1][1]["message"]["status"] == "stopped"
    assert not await Conversation.objects.filter(id=cid).aexists()
    assert not await Message.objects.filter(conversation_id=cid).aexists()
    assert await llm.async_wait_for_client_close(timeout=2)
    await wait_all()


async def test_detail_shows_a_streaming_answer_with_its_live_text(chat_layer, llm, alice):
    llm.enqueue(Scenario.words(WORDS, delay=0.02))
    cid = uuid.uuid4()
    stream = await send(cid, alice)
    events = await stream.events_until(lambda name, data: name == "message.delta" and data["seq"] >= 3)
    detail = await (await request("GET", f"/api/conversations/{cid}/", alice)).json()
    answer = detail["messages"][1]
    assert answer["status"] == "streaming" and answer["seq"] >= 3
    assert WORDS.startswith(answer["content"]) and len(answer["content"]) >= len(content_of(events))
    await stream.body()


async def test_a_stream_leaves_nothing_subscribed_however_it_ends(chat_layer, llm, user, alice):
    from chat import fanout

    llm.enqueue(Scenario.words(WORDS, delay=0.005), Scenario.words("Short."))
    cid = uuid.uuid4()
    hung_up = await send(cid, alice)  # hangs up before reading a byte of the body
    await hung_up.hang_up()
    await stored_answer(cid)
    read = await send(cid, alice, "Again")
    await read.body()
    await wait_all()
    await asyncio.sleep(0.1)
    assert fanout.conversation_group(user.pk, cid) not in fanout.get_hub().listeners
