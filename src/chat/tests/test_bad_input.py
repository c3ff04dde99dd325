"""Bad input gets a clear refusal, never a 500, a traceback or a dropped socket (issue 7, item 8)."""
import json
import uuid

import pytest

from chat import protocol
from chat.models import Conversation

from .test_api_sse import request, send
from .ws import connect, open_chat, until_done

pytestmark = pytest.mark.django_db(transaction=True)

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


# --- HTTP API: bodies over the upload limit -----------------------------------------------------
@pytest.mark.parametrize("megabytes", [3, 10])
async def test_api_body_over_the_upload_limit_is_413_too_large(settings, alice, megabytes):
    body = b'{"content": "' + b"x" * (megabytes * 1024 * 1024) + b'"}'
    response = await request("POST", f"/api/conversations/{uuid.uuid4()}/messages/", alice, body)
    assert response.status == 413
    error = (await response.json())["error"]
    assert error["code"] == protocol.TOO_LARGE == "too_large"
    assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in error["message"]


async def test_api_body_over_the_limit_on_a_rename_is_413_too(alice):
    body = b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = await request("PATCH", f"/api/conversations/{uuid.uuid4()}/", alice, body)
    assert (response.status, (await response.json())["error"]["code"]) == (413, "too_large")


async def test_api_upper_case_id_and_zero_width_content(llm, alice):
    response = await send(str(uuid.uuid4()).upper(), alice, content=ZERO_WIDTH + " \n")
    assert response.status == 400
    error = (await response.json())["error"]
    assert (error["code"], error["message"]) == ("bad_request", "The message is blank.")


# --- socket paths --------------------------------------------------------------------------------
async def test_upper_case_conversation_id_is_the_same_conversation(llm, alice):
    cid = uuid.uuid4()
    upper, snapshot = await open_chat(alice, str(cid).upper())
    assert snapshot["conversation"] is None
    await upper.send_json_to({"type": "message.send", "content": "Hello there"})
    done = (await until_done(upper))[-1]["message"]
    assert done["conversation_id"] == str(cid)  # normalized, as the API does
    assert await Conversation.objects.filter(id=cid).aexists()
    lower, snapshot = await open_chat(alice, cid)
    assert snapshot["conversation"]["id"] == str(cid) and len(snapshot["messages"]) == 2
    await upper.disconnect()
    await lower.disconnect()


@pytest.mark.parametrize("path", [
    "/ws/chat/not-a-uuid/",
    f"/ws/chat/{uuid.uuid4().hex}/",  # no dashes
    f"/ws/chat/{uuid.uuid4()}x/",
    f"/ws/chat/{uuid.uuid4()}",  # no trailing slash
    "/ws/elsewhere/",
    "/",
])
@pytest.mark.parametrize("logged_in", [True, False], ids=["user", "anonymous"])
async def test_socket_path_that_is_no_conversation_closes_4004(alice, path, logged_in):
    socket = await connect(path, alice if logged_in else None)
    assert await socket.receive_output(timeout=5) == {"type": "websocket.close",
                                                      "code": protocol.CLOSE_NO_SUCH_PATH}


# --- frames ---------------------------------------------------------------------------------------
async def test_client_id_of_5000_digits_is_bad_request(alice):
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_to(text_data='{"type": "message.send", "content": "hi", "client_id": ' + "1" * 5000 + "}")
    frame = await socket.receive_json_from(timeout=5)
    assert (frame["type"], frame["code"]) == ("error", protocol.BAD_REQUEST)
    await socket.send_json_to({"type": "conversation.sync"})  # and the socket is still open
    assert (await socket.receive_json_from(timeout=5))["type"] == "conversation.snapshot"
    await socket.disconnect()


@pytest.mark.parametrize("content", [ZERO_WIDTH, "\u200b \u200b", "\u2060\n\ufeff\t", "\u00ad\u200e\u200f",
                                     "\u3164\u2800"])
def test_invisible_content_is_blank(content):
    with pytest.raises(protocol.ProtocolError) as refused:
        protocol.parse_client_frame(json.dumps({"type": "message.send", "content": content}))
    assert (refused.value.code, refused.value.message) == (protocol.BAD_REQUEST, "The message is blank.")


@pytest.mark.parametrize("content", ["a\u200b", "\u200b😀", "\u200d👍", "x"])
def test_visible_content_with_zero_width_characters_is_not_blank(content):
    assert protocol.parse_message_send({"content": content}).content == content


async def test_zero_width_message_over_the_socket_is_refused(alice):
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": ZERO_WIDTH, "client_id": "z1"})
    frame = await socket.receive_json_from(timeout=5)
    assert frame == {"type": "error", "code": "bad_request", "message": "The message is blank.",
                     "client_id": "z1"}
    await socket.disconnect()
