"""The fan-out hub on Redis (chat.fanout.RedisHub): a process's first subscriptions, made at
once, all go live. That is what a freshly started process sees when a restart elsewhere
sends it a herd of reconnecting sockets (tests/e2e/test_drain.py)."""
import asyncio
import uuid

import pytest

from chat.fanout import RedisHub
from conftest import REDIS_URL, redis_available


@pytest.fixture
async def hub():
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    fresh = RedisHub(REDIS_URL, f"test-{uuid.uuid4().hex[:8]}")
    yield fresh
    if fresh.reader is not None:
        fresh.reader.cancel()
    await fresh.pubsub.aclose()
    await fresh.redis.aclose()


async def test_first_subscriptions_made_at_once_all_go_live(hub):
    received: dict[str, list[str]] = {}

    def listener(group):
        async def deliver(text):
            received.setdefault(group, []).append(text)
        return deliver

    groups = [f"chat.1.{n}" for n in range(30)]
    # Each returns once Redis confirmed its subscription (or fails after 10 s).
    await asyncio.wait_for(asyncio.gather(*(hub.subscribe(g, listener(g)) for g in groups)), 20)
    for group in groups:
        await hub.publish(group, f"frame of {group}")
    async with asyncio.timeout(5):
        while len(received) < len(groups):
            await asyncio.sleep(0.01)
    assert received == {group: [f"frame of {group}"] for group in groups}
