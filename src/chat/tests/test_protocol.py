import json

import pytest

from chat import protocol
from chat.protocol import ProtocolError


def refusal(text):
    with pytest.raises(ProtocolError) as info:
        protocol.parse_client_frame(text)
    return info.value


@pytest.mark.parametrize(
    "text",
    [None, "not json", "[1, 2]", '"a string"', "{}", '{"type": 3}', '{"type": "nope"}',
     '{"type": "message.send"}', '{"type": "message.send", "content": 5}',
     '{"type": "message.send", "content": "   \\n "}',
     '{"type": "message.send", "content": "hi", "client_id": 7}',
     '{"type": "message.send", "content": "hi", "client_id": ""}',
     '{"type": "message.send", "content": "hi", "extra": 1}',
     '{"type": "generation.stop", "force": true}', "[" * 100000,
     '{"type": "message.send", "content": "a\\u0000b"}', '{"type": "message.send", "content": "a\\ud800b"}',
     '{"type": "message.send", "content": "ok", "client_id": "a\\u0000"}'],
)
def test_bad_frames_are_bad_request(text):
    error = refusal(text)
    assert error.code == "bad_request"
    assert error.message


def test_too_long_counts_characters(settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    assert protocol.parse_client_frame(json.dumps({"type": "message.send", "content": "é" * 10}))
    error = refusal(json.dumps({"type": "message.send", "content": "é" * 11, "client_id": "c"}))
    assert (error.code, error.client_id) == ("too_long", "c")
    assert "10" in error.message


def test_valid_frames_parse():
    send = protocol.parse_client_frame('{"type":"message.send","content":"<b>hi</b>","client_id":"x"}')
    assert send == protocol.MessageSend(content="<b>hi</b>", client_id="x")
    assert isinstance(protocol.parse_client_frame('{"type":"generation.stop"}'), protocol.GenerationStop)
    assert isinstance(protocol.parse_client_frame('{"type":"message.regenerate"}'), protocol.MessageRegenerate)
    assert isinstance(protocol.parse_client_frame('{"type":"conversation.sync"}'), protocol.ConversationSync)


def test_error_frame_shape():
    frame = protocol.error_frame(ProtocolError("rate_limited", "slow down", client_id="c", retry_after=3))
    assert frame == {"type": "error", "code": "rate_limited", "message": "slow down", "client_id": "c",
                     "retry_after": 3}
    assert protocol.error_frame(ProtocolError("busy", "wait")) == {"type": "error", "code": "busy",
                                                                   "message": "wait"}


def test_delta_frame_is_compact():
    text = protocol.encode(protocol.delta_frame("m", 3, "content", "héllo"))
    assert text == '{"type":"message.delta","message_id":"m","seq":3,"part":"content","delta":"héllo"}'


def test_delta_head_picks_one_messages_deltas_out_of_encoded_frames():
    head = protocol.delta_head("m-1")
    assert protocol.encode(protocol.delta_frame("m-1", 7, "reasoning", '", "x')).startswith(head)
    assert not protocol.encode(protocol.delta_frame("m-10", 1, "content", "x")).startswith(head)
    assert not protocol.encode(protocol.delta_frame("m", 1, "content", "m-1")).startswith(head)
    done = protocol.encode({"type": protocol.MESSAGE_DONE, "message": {"id": "m-1"}})
    assert not done.startswith(head)


def test_the_clients_mirror_has_the_servers_codes():
    """frontend/src/lib/protocol.ts restates the close and error codes the client acts on."""
    import re
    from pathlib import Path

    mirror = (Path(__file__).resolve().parents[3] / "frontend/src/lib/protocol.ts").read_text()
    server_closes = {value for name, value in vars(protocol).items() if name.startswith("CLOSE_")}
    client_closes = {int(value) for value in re.findall(r"export const CLOSE_\w+ = (\d+);", mirror)}
    assert client_closes and client_closes <= server_closes
    assert protocol.CLOSE_SERVICE_RESTART in client_closes  # the one it reconnects on at once
    union = mirror.split("export type ErrorCode =", 1)[1].split("export interface", 1)[0]
    union = re.sub(r"/\*.*?\*/", "", union, flags=re.DOTALL)  # without its comments
    socket_codes = {protocol.BAD_REQUEST, protocol.TOO_LONG, protocol.BUSY, protocol.RATE_LIMITED,
                    protocol.TOO_MANY_ANSWERS, protocol.INTERNAL, protocol.UNAVAILABLE, protocol.UNKNOWN_MODEL}
    assert set(re.findall(r"'(\w+)'", union)) == socket_codes
