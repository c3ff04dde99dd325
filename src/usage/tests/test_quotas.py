"""Quotas: the exact last allowed message, tokens, resets, overrides, parallel sends racing
the limit, and the refusal over the socket and SSE alike (nothing stored)."""
import asyncio
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from chat.generation import wait_all
from chat.models import Message
from chat.tests.test_api_sse import send as sse_send
from chat.tests.ws import frames_until, open_chat
from tests.fake_upstream import Scenario
from usage import quotas
from usage.models import DailyUsage, Quota

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_counters(monkeypatch):
    monkeypatch.setattr(quotas, "_memory", quotas.MemoryCounters())
    monkeypatch.setattr(quotas, "_limits_cache", {})


async def send(socket, content: str) -> dict:
    """The answer's message.done, or the error frame."""
    await socket.send_json_to({"type": "message.send", "content": content, "client_id": uuid.uuid4().hex})
    frames = await frames_until(socket, lambda f: f["type"] in ("message.done", "error"))
    return frames[-1]


async def test_the_last_allowed_message_then_a_refusal_with_nothing_stored(chat_layer, llm, alice, settings):
    settings.QUOTA_DAILY_MESSAGES = 2
    socket, _ = await open_chat(alice, uuid.uuid4())
    assert (await send(socket, "one"))["type"] == "message.done"
    assert (await send(socket, "two"))["type"] == "message.done"  # the exact last allowed one
    stored = await Message.objects.acount()
    refused = await send(socket, "three")
    assert refused["type"] == "error" and refused["code"] == "quota_exceeded"
    tomorrow = (timezone.now() + timedelta(days=1)).date()
    assert refused["quota"] == {"period": "day", "kind": "messages", "limit": 2, "used": 2,
                                "resets_at": f"{tomorrow}T00:00:00Z"}
    assert 0 < refused["retry_after"] <= 86400
    assert "client_id" in refused and "resets at" in refused["message"]
    assert await Message.objects.acount() == stored  # nothing stored
    # Regenerate is an answer too.
    await socket.send_json_to({"type": "message.regenerate"})
    frame = (await frames_until(socket, lambda f: f["type"] in ("message.created", "error")))[-1]
    assert frame["type"] == "error" and frame["code"] == "quota_exceeded"
    await socket.disconnect()


async def test_the_refusal_over_sse(chat_layer, llm, user, alice, settings):
    settings.QUOTA_MONTHLY_MESSAGES = 1
    conversation = uuid.uuid4()
    socket, _ = await open_chat(alice, conversation)
    assert (await send(socket, "one"))["type"] == "message.done"  # the budget, used on the socket
    await socket.disconnect()
    response = await sse_send(conversation, alice, "two")
    assert response.status == 429
    error = (await response.json())["error"]
    assert error["code"] == "quota_exceeded" and error["quota"]["period"] == "month"
    assert error["quota"]["limit"] == 1 and int(response.headers["retry-after"]) >= 1
    assert await Message.objects.acount() == 2


async def test_tokens_budget_and_its_reset(chat_layer, llm, alice, settings, monkeypatch):
    settings.QUOTA_DAILY_TOKENS = 100
    llm.enqueue(Scenario(content=["x"], usage=(60, 39)), Scenario(content=["y"], usage=(1, 0)))
    socket, _ = await open_chat(alice, uuid.uuid4())
    assert (await send(socket, "a"))["type"] == "message.done"  # 99 tokens
    await wait_all()
    await _usage_stored(1)
    assert (await send(socket, "b"))["type"] == "message.done"  # 99 < 100: allowed; now 100
    await wait_all()
    await _usage_stored(2)
    refused = await send(socket, "c")
    assert refused["code"] == "quota_exceeded" and refused["quota"]["kind"] == "tokens"
    assert refused["quota"]["used"] == 100
    # The next day the budget is whole again.
    later = timezone.now() + timedelta(days=1)
    monkeypatch.setattr(quotas, "now", lambda: later)
    assert (await send(socket, "d"))["type"] == "message.done"
    await socket.disconnect()


async def _usage_stored(answers: int) -> None:
    async with asyncio.timeout(5):
        while (await DailyUsage.objects.filter(answers=answers).acount()) == 0:
            await asyncio.sleep(0.02)


async def test_parallel_sends_cannot_race_past_the_limit(chat_layer, llm, user, alice, settings):
    settings.QUOTA_DAILY_MESSAGES = 3
    settings.CHAT_MAX_ANSWERS_PER_USER = 100
    llm.enqueue(*[Scenario(content=["z"], delay=0.05) for _ in range(10)])
    sockets = [(await open_chat(alice, uuid.uuid4()))[0] for _ in range(10)]
    results = await asyncio.gather(*(send(socket, f"race {n}") for n, socket in enumerate(sockets)))
    kinds = sorted(frame["type"] if frame["type"] != "error" else frame["code"] for frame in results)
    assert kinds == ["message.done"] * 3 + ["quota_exceeded"] * 7
    assert await Message.objects.filter(role="user").acount() == 3
    for socket in sockets:
        await socket.disconnect()


async def test_counting_starts_from_stored_usage(chat_layer, llm, user, alice, settings):
    settings.QUOTA_MONTHLY_MESSAGES = 5
    today = timezone.now().date()
    await DailyUsage.objects.acreate(user=user, model="m", day=today, answers=5, input_tokens=1, output_tokens=1)
    socket, _ = await open_chat(alice, uuid.uuid4())
    assert (await send(socket, "over"))["code"] == "quota_exceeded"
    await socket.disconnect()


def test_overrides(user, django_user_model, settings):
    settings.QUOTA_DAILY_MESSAGES = 10
    settings.QUOTA_DAILY_TOKENS = 1000
    assert quotas.limits_for(user) == {"daily_messages": 10, "monthly_messages": 0, "daily_tokens": 1000,
                                       "monthly_tokens": 0}
    small, big = Group.objects.create(name="small"), Group.objects.create(name="big")
    user.groups.add(small, big)
    Quota.objects.create(group=small, daily_messages=20)
    Quota.objects.create(group=big, daily_messages=50, monthly_tokens=7)
    assert quotas.limits_for(user)["daily_messages"] == 50  # the most generous group
    assert quotas.limits_for(user)["monthly_tokens"] == 7
    Quota.objects.create(group=Group.objects.create(name="unlimited"), daily_messages=0).group.user_set.add(user)
    assert quotas.limits_for(user)["daily_messages"] == 0  # no limit is the most generous
    Quota.objects.create(user=user, daily_messages=3)
    limits = quotas.limits_for(user)
    assert limits["daily_messages"] == 3 and limits["daily_tokens"] == 1000  # own wins; empty follows
    other = django_user_model.objects.create_user("carol")
    assert quotas.limits_for(other)["daily_messages"] == 10


def test_the_typescript_mirror_agrees():
    from pathlib import Path

    from usage.protocol import QUOTA_EXCEEDED

    mirror = (Path(__file__).resolve().parents[3] / "frontend/src/features/usage/protocol.ts").read_text()
    assert f"QUOTA_EXCEEDED = '{QUOTA_EXCEEDED}'" in mirror
    for field in ("period", "kind", "limit", "used", "resets_at"):
        assert f"  {field}:" in mirror


def test_two_processes_racing_on_redis_get_exactly_the_budget(settings, user, monkeypatch):
    """Two event loops in two threads, each with its own Redis connection (as two server
    processes have), send at once: the Lua script lets exactly the budget through."""
    import threading
    import time as clock

    import redis

    from conftest import REDIS_URL, redis_available
    from usage.protocol import QUOTA_EXCEEDED

    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    settings.REDIS_URL = REDIS_URL
    settings.CHAT_REDIS_PREFIX = f"test-{uuid.uuid4().hex[:8]}"
    limits = {"daily_messages": 7, "monthly_messages": 0, "daily_tokens": 0, "monthly_tokens": 0}
    monkeypatch.setattr(quotas, "_limits_cache", {user.pk: (clock.monotonic() + 3600, limits)})
    keys = quotas.keys_for(user.pk, quotas.Periods.at(quotas.now()))
    client = redis.Redis.from_url(REDIS_URL)
    for key in keys.values():
        client.set(key, 0, ex=600)  # counters already started: no database read in the threads
    outcomes = []
    start = threading.Barrier(2)

    def process():
        async def sends():
            results = []
            for _ in range(10):
                try:
                    await quotas.check(user=user)
                    results.append("ok")
                except Exception as exc:  # noqa: BLE001
                    results.append(getattr(exc, "code", repr(exc)))
            return results

        start.wait()
        outcomes.extend(asyncio.run(sends()))

    threads = [threading.Thread(target=process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert sorted(outcomes) == ["ok"] * 7 + [QUOTA_EXCEEDED] * 13
        assert int(client.get(keys["daily_messages"])) == 7
    finally:
        client.delete(*keys.values())
