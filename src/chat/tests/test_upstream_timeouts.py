"""An upstream that accepts and then says nothing: the answer ends in `error` after the
first-token or idle limit (settings), not after (retries + 1) x LLM_TIMEOUT, and says which."""
import uuid

import pytest

from chat.models import Message
from tests.fake_upstream import Scenario

from .ws import deltas_text, open_chat, until_done

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("scenario, needle, partial", [
    (Scenario(silent=True), "no answer within 0.5 s (LLM_FIRST_TOKEN_TIMEOUT)", ""),
    (Scenario.words("one two three", hang_after=2), "nothing received for 0.5 s (LLM_IDLE_TIMEOUT)", "one two"),
], ids=["silent", "idle"])
async def test_silent_upstream_ends_the_answer_after_its_own_limit(scenario, needle, partial, chat_layer,
                                                                   settings, llm, alice):
    # Long per-request timeout and retries: only the new limits can end this within the test.
    settings.LLM_TIMEOUT = 60.0
    settings.LLM_MAX_RETRIES = 2
    settings.LLM_FIRST_TOKEN_TIMEOUT = 0.5 if not partial else 30.0
    settings.LLM_IDLE_TIMEOUT = 0.5
    llm.enqueue(scenario, scenario, scenario)
    socket, _ = await open_chat(alice, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": "Hello?"})
    frames = await until_done(socket, timeout=15)
    done = frames[-1]["message"]
    assert done["status"] == "error" and needle in done["error"], done["error"]
    assert done["content"] == deltas_text(frames) == partial
    assert len(llm.requests) == 1
    stored = await Message.objects.aget(id=done["id"])
    assert (stored.status, stored.content, stored.error) == ("error", partial, done["error"])
    await socket.disconnect()
