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


@pytest.fixture
async def elsewhere(chat_layer, settings):
    """With Redis, the hub of another process (same prefix, its own origin), whose listeners
    get frames published here only through Redis; None in memory."""
    if chat_layer != "redis":
        yield None
        return
    other = RedisHub(settings.REDIS_URL, settings.CHAT_REDIS_PREFIX)
    yield other
    await other.aclose()


async def test_answers_publishing_at_once_reach_their_listeners_whole_in_order_state_first(chat_layer, elsewhere):
    """Each listener gets its answer's deltas in seq order, each once, none missing. A
    listener of another process (through Redis), or any listener in memory, finds the live
    state holding a delta when the delta arrives: what snapshots there rely on. (Listeners
    of the publishing process get frames before Redis holds them: see the next test.)"""
    store = get_store()
    answers = [(n, str(uuid.uuid4()), str(uuid.uuid4())) for n in range(ANSWERS)]  # owner, conversation, answer
    seen = {answer_id: [] for _, _, answer_id in answers}
    seen_elsewhere = {answer_id: [] for _, _, answer_id in answers}
    behind = []

    def listener(answer_id, seen, state_first):
        async def deliver(text):
            frame = json.loads(text)
            seen[answer_id].append((frame["seq"], frame["delta"]))
            if state_first:
                live = await store.get(answer_id)
                if live is None or live.seq < frame["seq"]:
                    behind.append((answer_id, frame["seq"]))
        return deliver

    listeners = []
    for owner, conversation, answer_id in answers:
        group = fanout.conversation_group(owner, conversation)
        listeners.append((fanout.get_hub(), group, listener(answer_id, seen, elsewhere is None)))
        if elsewhere is not None:
            listeners.append((elsewhere, group, listener(answer_id, seen_elsewhere, True)))
        await fanout.start_live(answer_id)
    for hub, group, deliver in listeners:
        await hub.subscribe(group, deliver)
    calls = count_script_calls()

    async def answer(owner, conversation, answer_id):
        for seq in range(1, FRAMES + 1):
            await fanout.publish_deltas(owner, conversation, answer_id, seq, [("content", f" w{seq}")])

    await asyncio.gather(*(answer(*a) for a in answers))
    everyone = [seen] if elsewhere is None else [seen, seen_elsewhere]
    await wait_for(lambda: all(len(frames) >= FRAMES for got in everyone for frames in got.values()))
    await asyncio.sleep(0.2)  # (a frame coming back from Redis to its own process would arrive twice)
    try:
        for _, _, answer_id in answers:
            for got in everyone:
                assert got[answer_id] == [(seq, f" w{seq}") for seq in range(1, FRAMES + 1)]
            live = await store.get(answer_id)
            assert (live.content, live.seq) == ("".join(f" w{s}" for s in range(1, FRAMES + 1)), FRAMES)
        assert behind == []
        if calls is not None:  # Redis: frames of different answers shared script calls
            assert 0 < calls["n"] < ANSWERS * FRAMES / 4, calls
            assert fanout.get_hub().landing == {}  # nothing left once every call returned
    finally:
        for hub, group, deliver in listeners:
            await hub.unsubscribe(group, deliver)
        for _, _, answer_id in answers:
            await store.drop(answer_id)


async def test_a_listener_joining_while_frames_are_on_their_way_to_redis_gets_them_before_its_snapshot(
        chat_layer, elsewhere):
    """Listeners of the publishing process get its frames before Redis holds their text. A
    listener joining then (a socket connecting, an SSE stream) gets those first, so the
    snapshot it reads next plus the frames it got add up to the whole answer; so does a
    socket reading its snapshot again (fanout.in_flight)."""
    if chat_layer != "redis":
        pytest.skip("in memory the live state holds a frame before it is delivered")
    hub, store = fanout.get_hub(), get_store()
    owner, conversation, answer_id = 1, uuid.uuid4(), str(uuid.uuid4())
    group = fanout.conversation_group(owner, conversation)
    first, late, remote = [], [], []

    listeners = []

    def listener(got):
        async def deliver(text):
            got.append(json.loads(text)["seq"])
        listeners.append(deliver)
        return deliver

    await fanout.start_live(answer_id)
    await hub.subscribe(group, listener(first))
    await elsewhere.subscribe(group, listener(remote))
    send, held = hub._run_send, asyncio.Event()

    async def held_back(keys, args, **again):  # (again: loaded=True, the same call after a NOSCRIPT)
        await held.wait()
        return await send(keys, args, **again)

    hub._run_send = held_back
    try:
        sent = [fanout.publish_deltas(owner, conversation, answer_id, seq, [("content", f" w{seq}")])
                for seq in (1, 2, 3)]
        await wait_for(lambda: first == [1, 2, 3])  # here at once, Redis not asked yet
        assert remote == [] and (await store.get(answer_id)).seq == 0
        assert [json.loads(t)["seq"] for t in fanout.in_flight(group)] == [1, 2, 3]
        await hub.subscribe(group, listener(late))
        assert late == [1, 2, 3]  # before its snapshot, which does not hold them yet
        snapshot = await store.get(answer_id)
        assert snapshot.seq == 0
        held.set()
        await asyncio.gather(*sent)
        await wait_for(lambda: remote == [1, 2, 3])
        assert fanout.in_flight(group) == [] and hub.landing == {}
        assert (await store.get(answer_id)).content == " w1 w2 w3"
        after = []
        await hub.subscribe(group, listener(after))  # Redis holds them now: nothing given first
        await fanout.publish_deltas(owner, conversation, answer_id, 4, [("content", " w4")])
        await wait_for(lambda: remote == [1, 2, 3, 4])
        await asyncio.sleep(0.1)
        assert (first, late, after) == ([1, 2, 3, 4], [1, 2, 3, 4], [4])
    finally:
        hub._run_send = send
        held.set()  # (a failed assertion must not leave the hub's sender waiting)
        for deliver in listeners:
            await hub.unsubscribe(group, deliver)
            await elsewhere.unsubscribe(group, deliver)
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


async def test_an_answers_live_state_starts_in_line_with_the_frames_queued_after_it(chat_layer, elsewhere):
    """With Redis the start goes in the script calls that carry frames: a frame queued after
    it, before the start was awaited, finds the live state there, and both share one call
    (a MULTI of its own had cost each send several turns of the loop)."""
    if chat_layer != "redis":
        pytest.skip("queued with the frames with Redis only (in memory the start is awaited first)")
    owner, conversation, answer_id = 1, uuid.uuid4(), str(uuid.uuid4())
    group, store, found = fanout.conversation_group(owner, conversation), get_store(), []

    async def deliver(text):
        found.append(await store.get(answer_id))

    await elsewhere.subscribe(group, deliver)  # (through Redis: listeners here get frames first)
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
        await elsewhere.unsubscribe(group, deliver)
        await store.drop(answer_id)


async def test_an_answer_is_prepared_without_waiting_for_its_live_states_start_which_its_drop_waits_for(chat_layer):
    """With Redis the start of an answer's live state is queued in line before its frames and
    not waited for (a send waited for that reply last). Dropping the state of an answer that
    will not run waits for the start, which would otherwise bring it back; a start that fails
    leaves the answer going on without live state, like any later failure."""
    if chat_layer != "redis":
        pytest.skip("in memory the start is done at once")
    from chat.generation import Answer
    from chat.models import Message

    hub, store = fanout.get_hub(), get_store()
    send, held = hub._run_send, asyncio.Event()

    async def held_back(keys, args, **again):  # (again: loaded=True, the same call after a NOSCRIPT)
        await held.wait()
        return await send(keys, args, **again)

    async def refuse(*_, **__):
        raise ConnectionError("Redis is away")

    def answer():
        return Answer(answer=Message(id=uuid.uuid4(), conversation_id=uuid.uuid4()), owner_id=1, context=[],
                      provider=None)

    hub._run_send = held_back
    try:
        waiting = answer()
        await asyncio.wait_for(waiting.prepare(), 2)
        assert await store.get(waiting.id) is None  # its start is still on its way
        unpreparing = asyncio.ensure_future(waiting.unprepare())
        await asyncio.sleep(0.1)
        assert not unpreparing.done()
        held.set()
        await asyncio.wait_for(unpreparing, 5)
        assert await store.get(waiting.id) is None and waiting.id not in await store.stale(-60)

        hub._run_send = refuse
        failing = answer()
        await asyncio.wait_for(failing.prepare(), 2)
        await wait_for(lambda: failing.live_lost)
        await failing.unprepare()
    finally:
        hub._run_send = send
        held.set()


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


async def test_a_batch_that_redis_refuses_fails_every_publisher_in_it_and_the_next_batch_goes_out(
        chat_layer, elsewhere):
    """Listeners here still get the frames (the answer goes on without Redis); those of other
    processes miss them (a seq gap they repair), and the next batch goes out."""
    if chat_layer != "redis":
        pytest.skip("batches are sent to Redis only")
    hub = fanout.get_hub()
    good = hub._run_send
    group = fanout.conversation_group(1, uuid.uuid4())
    here, there = [], []

    def listener(got):
        async def deliver(text):
            got.append(text)
        return deliver

    async def refuse(*_):
        raise ConnectionError("Redis is away")

    mine, theirs = listener(here), listener(there)
    await hub.subscribe(group, mine)
    await elsewhere.subscribe(group, theirs)
    try:
        hub._run_send = refuse
        results = await asyncio.gather(*(hub.publish(group, f"lost {n}") for n in range(5)), return_exceptions=True)
        assert all(isinstance(r, ConnectionError) for r in results), results
        assert hub.outbox == [] and hub.landing == {}
        hub._run_send = good
        await hub.publish(group, "after")
        await wait_for(lambda: there)
        assert there == ["after"]
        assert here == [f"lost {n}" for n in range(5)] + ["after"]
    finally:
        hub._run_send = good
        await hub.unsubscribe(group, mine)
        await elsewhere.unsubscribe(group, theirs)


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


@pytest.fixture
async def other(hub):
    """The hub of another process, with `hub`'s prefix: what it publishes reaches `hub`'s
    listeners only through Redis (a hub's own frames reach them from memory)."""
    fresh = RedisHub(REDIS_URL, hub.prefix.removesuffix(":frames:"))
    yield fresh
    await fresh.aclose()


async def test_first_subscriptions_made_at_once_all_go_live(hub, other):
    received: dict[str, list[str]] = {}

    def listener(group):
        async def deliver(text):
            received.setdefault(group, []).append(text)
        return deliver

    groups = [f"chat.1.{n}" for n in range(30)]
    # Each returns once Redis confirmed its subscription (or fails after 10 s).
    await asyncio.wait_for(asyncio.gather(*(hub.subscribe(g, listener(g)) for g in groups)), 20)
    for group in groups:
        await other.publish(group, f"frame of {group}")
    async with asyncio.timeout(5):
        while len(received) < len(groups):
            await asyncio.sleep(0.01)
    assert received == {group: [f"frame of {group}"] for group in groups}


async def test_frames_of_a_process_of_the_code_before_origins_arrive_whole(hub):
    """In a rolling deploy, sockets moved to a new process while their answers end on an old
    one, which publishes frames without an origin: they reach the listeners whole."""
    import redis.asyncio as redis

    received = []

    async def deliver(text):
        received.append(text)

    await hub.subscribe("chat.1.old", deliver)
    await hub.subscribe(fanout.stop_group(1, "old"), deliver)
    admin = redis.from_url(REDIS_URL)
    try:
        await admin.publish(hub.prefix + "chat.1.old", '{"type": "message.done"}')
        await admin.publish(hub.prefix + fanout.stop_group(1, "old"), fanout.STOP)
    finally:
        await admin.aclose()
    await wait_for(lambda: len(received) == 2)
    assert received == ['{"type": "message.done"}', fanout.STOP]


async def test_the_subscriber_comes_back_after_redis_drops_its_connection(hub, other):
    """The reader reads the pub/sub connection directly; when Redis drops it, the hub connects
    again, subscribes its groups again, and frames published from then on arrive."""
    import redis.asyncio as redis

    received = []

    async def deliver(text):
        received.append(text)

    await hub.subscribe("chat.1.kept", deliver)
    await hub.subscribe("chat.1.left", deliver)
    await hub.unsubscribe("chat.1.left", deliver)
    await other.publish("chat.1.kept", "before")
    await wait_for(lambda: received == ["before"])

    host, port = hub.pubsub.connection._writer.get_extra_info("sockname")[:2]
    admin = redis.from_url(REDIS_URL)
    try:
        assert await admin.client_kill_filter(_type="pubsub", addr=f"{host}:{port}") == 1
        n = 0
        async with asyncio.timeout(10):  # frames sent while it is away are lost (a seq gap)
            while not any(text.startswith("after") for text in received):
                n += 1
                await other.publish("chat.1.kept", f"after {n}")
                await other.publish("chat.1.left", "to nobody")
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
    other = RedisHub(REDIS_URL, prefix)  # another process's: its stops reach `hub` through Redis
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
        await other.publish(fanout.stop_group(1, "a"), fanout.STOP)
        await wait_for(lambda: heard["a"] == [fanout.STOP])
        await hub.unsubscribe(fanout.stop_group(1, "a"), a)
        await other.publish(fanout.stop_group(1, "a"), "after it left")
        await other.publish(fanout.stop_group(1, "b"), fanout.STOP)
        await wait_for(lambda: heard["b"] == [fanout.STOP])
        assert heard == {"a": [fanout.STOP], "b": [fanout.STOP]}
        assert await admin.pubsub_numpat() == patterns + 1  # kept for the process's next answers
    finally:
        await hub.aclose()
        await other.aclose()
        await admin.aclose()


async def test_the_publisher_connects_again_after_redis_drops_its_connection_or_forgets_the_script(hub, other):
    """Script calls go on a connection of the hub's own: when Redis drops it, the call that
    met it fails (no resend: it may have run) and the next one connects again; a Redis that
    forgot the script (SCRIPT FLUSH, a restart) gets it loaded again."""
    import redis.asyncio as redis

    received = []

    async def deliver(text):
        received.append(text)

    await other.subscribe("chat.1.c", deliver)  # (through Redis)
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


@pytest.mark.django_db(transaction=True)
async def test_tokens_that_came_while_the_send_was_stored_are_queued_at_the_answers_launch(chat_layer):
    """With Redis an answer's early tokens (its request went out before the send was stored)
    are queued when it is launched, behind its message.created, not from its publisher two
    turns of the loop later."""
    if chat_layer != "redis":
        pytest.skip("in memory a publish is awaited: the answer's publisher sends them")
    from chat import generation
    from chat.models import Message

    answer = generation.Answer(answer=Message(id=uuid.uuid4(), conversation_id=uuid.uuid4()), owner_id=1,
                               context=[], provider=None)
    answer.upstream = asyncio.ensure_future(asyncio.sleep(0))  # its early request, ended
    answer._take("content", "early")
    group, got = fanout.conversation_group(1, answer.conversation_id), []

    async def deliver(text):
        got.append(json.loads(text))

    await fanout.subscribe(group, deliver)
    try:
        fanout.publish(1, answer.conversation_id, {"type": "message.created"})
        await generation.launch(answer)
        assert answer.seq == 1  # queued at the launch: its task has not run yet
        await asyncio.wait_for(answer.task, 10)
        assert [(f["type"], f.get("delta")) for f in got] == [("message.created", None), ("message.delta", "early")]
    finally:
        await fanout.unsubscribe(group, deliver)
