"""The fan-out on its own: many answers publishing at once, in memory and through Redis; a
process's first subscriptions, made at once, all going live (what a freshly started process
sees when a restart elsewhere sends it a herd of reconnecting sockets, tests/e2e/test_drain.py)."""
import asyncio
import json
import uuid

import pytest

from chat import fanout
from chat.fanout import RedisHub
from chat.state import get_store
from conftest import REDIS_URL, redis_available

ANSWERS, FRAMES = 40, 15


async def test_answers_publishing_at_once_reach_their_listeners_whole_in_order_state_first(chat_layer):
    """Each listener gets its answer's deltas in seq order, none missing, and the live state
    it reads on receiving a delta already holds that delta (what snapshots rely on)."""
    store = get_store()
    answers = [(n, str(uuid.uuid4()), str(uuid.uuid4())) for n in range(ANSWERS)]  # owner, conversation, answer
    seen = {answer_id: [] for _, _, answer_id in answers}
    behind = []

    def listener(answer_id):
        async def deliver(text):
            frame = json.loads(text)
            seen[answer_id].append((frame["seq"], frame["delta"]))
            live = await store.get(answer_id)
            if live is None or live.seq < frame["seq"]:
                behind.append((answer_id, frame["seq"]))
        return deliver

    listeners = {}
    for owner, conversation, answer_id in answers:
        group = fanout.conversation_group(owner, conversation)
        listeners[group] = listener(answer_id)
        await fanout.subscribe(group, listeners[group])
        await fanout.start_live(answer_id)
    calls = count_script_calls()

    async def answer(owner, conversation, answer_id):
        for seq in range(1, FRAMES + 1):
            await fanout.publish_deltas(owner, conversation, answer_id, seq, [("content", f" w{seq}")])

    await asyncio.gather(*(answer(*a) for a in answers))
    await wait_for(lambda: all(len(frames) == FRAMES for frames in seen.values()))
    try:
        for _, _, answer_id in answers:
            assert seen[answer_id] == [(seq, f" w{seq}") for seq in range(1, FRAMES + 1)]
            live = await store.get(answer_id)
            assert (live.content, live.seq) == ("".join(f" w{s}" for s in range(1, FRAMES + 1)), FRAMES)
        assert behind == []
        if calls is not None:  # Redis: frames of different answers shared script calls
            assert 0 < calls["n"] < ANSWERS * FRAMES / 4, calls
    finally:
        for group, deliver in listeners.items():
            await fanout.unsubscribe(group, deliver)
        for _, _, answer_id in answers:
            await store.drop(answer_id)


async def test_frames_take_their_place_in_line_when_published_not_when_awaited(chat_layer):
    """What lets a send start its answer before its message.created frames went out (it need
    not wait for Redis): what a task started afterwards publishes cannot overtake them."""
    owner, conversation = 1, uuid.uuid4()
    group = fanout.conversation_group(owner, conversation)
    got = []

    async def deliver(text):
        got.append(json.loads(text)["type"])

    async def later():
        await fanout.publish(owner, conversation, {"type": "later"})

    await fanout.subscribe(group, deliver)
    try:
        announced = fanout.publish(owner, conversation, {"type": "created"}, {"type": "created too"})
        await asyncio.create_task(later())  # runs, and publishes, before `announced` is awaited
        await announced
        await wait_for(lambda: len(got) == 3)
        assert got == ["created", "created too", "later"]
    finally:
        await fanout.unsubscribe(group, deliver)


async def test_an_answers_live_state_starts_in_line_with_the_frames_queued_after_it(chat_layer):
    """With Redis the start goes in the script calls that carry frames: a frame queued after
    it, before the start was awaited, finds the live state there, and both share one call
    (a MULTI of its own had cost each send several turns of the loop)."""
    if chat_layer != "redis":
        pytest.skip("queued with the frames with Redis only (in memory the start is awaited first)")
    owner, conversation, answer_id = 1, uuid.uuid4(), str(uuid.uuid4())
    group, store, found = fanout.conversation_group(owner, conversation), get_store(), []

    async def deliver(text):
        found.append(await store.get(answer_id))

    await fanout.subscribe(group, deliver)
    calls = count_script_calls()
    try:
        started = fanout.start_live(answer_id)
        announced = fanout.publish(owner, conversation, {"type": "message.created"})
        await asyncio.gather(started, announced)
        await wait_for(lambda: found)
        assert found[0] is not None and (found[0].content, found[0].seq) == ("", 0)
        assert answer_id in await store.stale(-60)  # in the index of running answers
        assert calls["n"] == 1
    finally:
        await fanout.unsubscribe(group, deliver)
        await store.drop(answer_id)


async def test_frames_published_together_arrive_in_their_order(chat_layer):
    group = fanout.conversation_group(1, uuid.uuid4())
    got = []

    async def deliver(text):
        got.append(json.loads(text)["n"])

    await fanout.subscribe(group, deliver)
    try:
        await asyncio.gather(
            fanout.get_hub().publish(group, *(json.dumps({"n": n}) for n in range(5))),
            fanout.get_hub().publish(group, *(json.dumps({"n": n}) for n in range(5, 8))),
        )
        await wait_for(lambda: len(got) == 8)
        assert got == list(range(8))
    finally:
        await fanout.unsubscribe(group, deliver)


async def test_a_batch_that_redis_refuses_fails_every_publisher_in_it_and_the_next_batch_goes_out(chat_layer):
    if chat_layer != "redis":
        pytest.skip("batches are sent to Redis only")
    hub = fanout.get_hub()
    good = hub._run_send
    group = fanout.conversation_group(1, uuid.uuid4())
    got = []

    async def deliver(text):
        got.append(text)

    async def refuse(*_):
        raise ConnectionError("Redis is away")

    await hub.subscribe(group, deliver)
    try:
        hub._run_send = refuse
        results = await asyncio.gather(*(hub.publish(group, f"lost {n}") for n in range(5)), return_exceptions=True)
        assert all(isinstance(r, ConnectionError) for r in results), results
        assert hub.outbox == []
        hub._run_send = good
        await hub.publish(group, "after")
        await wait_for(lambda: got)
        assert got == ["after"]
    finally:
        hub._run_send = good
        await hub.unsubscribe(group, deliver)


def count_script_calls():
    """Count the Redis hub's script calls (None without Redis: nothing to batch)."""
    hub = fanout.get_hub()
    if not isinstance(hub, fanout.RedisHub):
        return None
    calls, send = {"n": 0}, hub._run_send

    async def counted(*args, **again):  # (again: loaded=True, the same call after a NOSCRIPT)
        calls["n"] += 0 if again else 1
        return await send(*args, **again)

    hub._run_send = counted
    return calls


async def wait_for(condition, timeout=10.0):
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def hub():
    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    fresh = RedisHub(REDIS_URL, f"test-{uuid.uuid4().hex[:8]}")
    yield fresh
    await fresh.aclose()


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


async def test_the_subscriber_comes_back_after_redis_drops_its_connection(hub):
    """The reader reads the pub/sub connection directly; when Redis drops it, the hub connects
    again, subscribes its groups again, and frames published from then on arrive."""
    import redis.asyncio as redis

    received = []

    async def deliver(text):
        received.append(text)

    await hub.subscribe("chat.1.kept", deliver)
    await hub.subscribe("chat.1.left", deliver)
    await hub.unsubscribe("chat.1.left", deliver)
    await hub.publish("chat.1.kept", "before")
    await wait_for(lambda: received == ["before"])

    host, port = hub.pubsub.connection._writer.get_extra_info("sockname")[:2]
    admin = redis.from_url(REDIS_URL)
    try:
        assert await admin.client_kill_filter(_type="pubsub", addr=f"{host}:{port}") == 1
        n = 0
        async with asyncio.timeout(10):  # frames sent while it is away are lost (a seq gap)
            while not any(text.startswith("after") for text in received):
                n += 1
                await hub.publish("chat.1.kept", f"after {n}")
                await hub.publish("chat.1.left", "to nobody")
                await asyncio.sleep(0.05)
        # Subscribed again to what it listens to, and only that.
        assert await admin.pubsub_numsub(hub.prefix + "chat.1.kept", hub.prefix + "chat.1.left") == [
            ((hub.prefix + "chat.1.kept").encode(), 1), ((hub.prefix + "chat.1.left").encode(), 0)]
    finally:
        await admin.aclose()
    await asyncio.sleep(0.2)
    assert "to nobody" not in received
    assert received[0] == "before" and all(text.startswith("after") for text in received[1:])


async def test_stop_groups_are_heard_through_one_pattern_subscription_made_once():
    """An answer's stop listener costs no SUBSCRIBE (confirmed only behind every frame the
    subscriber has yet to read): one PSUBSCRIBE per process hears every stop group, each
    stop reaches only its answer's listener, and the prefix is matched literally."""
    import redis.asyncio as redis

    if not redis_available():
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    prefix = f"test-[{uuid.uuid4().hex[:6]}]*?"
    hub, admin = RedisHub(REDIS_URL, prefix), redis.from_url(REDIS_URL)
    heard: dict[str, list[str]] = {"a": [], "b": []}

    def listener(name):
        async def deliver(text):
            heard[name].append(text)
        return deliver

    a, b = listener("a"), listener("b")
    try:
        patterns = await admin.pubsub_numpat()
        await asyncio.wait_for(hub.subscribe(fanout.stop_group(1, "a"), a), 10)
        await asyncio.wait_for(hub.subscribe(fanout.stop_group(1, "b"), b), 10)
        assert await admin.pubsub_numpat() == patterns + 1
        assert await admin.pubsub_numsub(hub.prefix + fanout.stop_group(1, "a")) == [
            ((hub.prefix + fanout.stop_group(1, "a")).encode(), 0)]
        # (Unescaped, the pattern would miss the hub's own channels and match this one.)
        await admin.publish(f"test-{prefix[6]}xy:frames:{fanout.stop_group(1, 'a')}", "not ours")
        await hub.publish(fanout.stop_group(1, "a"), fanout.STOP)
        await wait_for(lambda: heard["a"] == [fanout.STOP])
        await hub.unsubscribe(fanout.stop_group(1, "a"), a)
        await hub.publish(fanout.stop_group(1, "a"), "after it left")
        await hub.publish(fanout.stop_group(1, "b"), fanout.STOP)
        await wait_for(lambda: heard["b"] == [fanout.STOP])
        assert heard == {"a": [fanout.STOP], "b": [fanout.STOP]}
        assert await admin.pubsub_numpat() == patterns + 1  # kept for the process's next answers
    finally:
        await hub.aclose()
        await admin.aclose()


async def test_the_publisher_connects_again_after_redis_drops_its_connection_or_forgets_the_script(hub):
    """Script calls go on a connection of the hub's own: when Redis drops it, the call that
    met it fails (no resend: it may have run) and the next one connects again; a Redis that
    forgot the script (SCRIPT FLUSH, a restart) gets it loaded again."""
    import redis.asyncio as redis

    received = []

    async def deliver(text):
        received.append(text)

    await hub.subscribe("chat.1.c", deliver)
    await hub.publish("chat.1.c", "first")
    await wait_for(lambda: received == ["first"])
    host, port = hub.sender_connection._writer.get_extra_info("sockname")[:2]
    admin = redis.from_url(REDIS_URL)
    try:
        assert await admin.client_kill_filter(addr=f"{host}:{port}") == 1
        with pytest.raises(Exception):
            await hub.publish("chat.1.c", "lost")
        await hub.publish("chat.1.c", "after the drop")
        await admin.script_flush()
        await hub.publish("chat.1.c", "after the flush")
    finally:
        await admin.aclose()
    await wait_for(lambda: len(received) == 3)
    assert received == ["first", "after the drop", "after the flush"]


@pytest.mark.django_db(transaction=True)
async def test_while_redis_is_slow_an_answer_has_one_batch_on_its_way_and_its_tokens_gather(chat_layer, llm, alice):
    """An answer does not wait for each of its frames to reach Redis, but it never has more
    than one batch on its way: tokens arriving meanwhile go into its next frame, so a slow
    Redis costs fewer, larger frames, not a queue growing in the process."""
    if chat_layer != "redis":
        pytest.skip("batches are sent to Redis only")
    from tests.fake_upstream import Scenario

    from .ws import deltas_text, open_chat, until_done

    hub = fanout.get_hub()
    send, in_flight = hub._run_send, []

    async def slow(keys, args, **again):  # (again: loaded=True, the same call after a NOSCRIPT)
        if not again:
            in_flight.append(sum(1 for arg in args if arg == "a"))  # delta records in this call
            await asyncio.sleep(0.05)
        return await send(keys, args, **again)

    words = " ".join(f"w{n}" for n in range(150))
    llm.enqueue(Scenario.words(words, delay=0.002))  # 150 tokens in about 0.3 s
    socket, _ = await open_chat(alice, uuid.uuid4())
    hub._run_send = slow
    try:
        await socket.send_json_to({"type": "message.send", "content": "Hello?"})
        frames = await until_done(socket)
    finally:
        hub._run_send = send
    deltas = [f for f in frames if f["type"] == "message.delta"]
    assert deltas_text(frames) == words == frames[-1]["message"]["content"]
    assert [d["seq"] for d in deltas] == list(range(1, len(deltas) + 1))
    assert max(in_flight) == 1, in_flight  # never two records of the one answer in a call
    assert len(deltas) <= 15, len(deltas)  # 0.3 s of tokens in 50 ms round trips
    await socket.disconnect()
