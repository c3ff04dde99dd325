"""Answers under load: delivery, delay and cost per token, against a reference relay.

    .venv/bin/python bench/load.py [--loads L0,L1,L2,L2x2,L3,L3x2] [--shapes embedded,deployed]
                                   [--transports ws,sse] [--idle 10000] [--slow-readers 3] [--quick]
                                   [--first-token-ms 0]

Real Daphne processes (tests/e2e/servers.py): *embedded* (SQLite file, in-process layer) and
*deployed* (a fresh PostgreSQL database, made and dropped here, and Redis with a prefix of
its own). The upstream is the loopback fake (tests/fake_upstream.py) in a process of its own;
each token carries its emit time (`Scenario.stamp`), so the delay from upstream to client
frame is measured per token, on one clock. The message sent says how long and how fast the
answer is (`bench <tokens> <rate> <padding>`); its first token comes at once, or after
--first-token-ms, as a real model's does after reading its prompt. Clients run in processes of their own too, so
a busy client loop does not show up as server delay.

In the same run the same load goes to a reference relay (bench/reference_relay.py: LangChain
`astream()` relayed as SSE by the same Daphne, no database), so each CPU figure has a ratio.

Two arrival patterns (--arrivals): *burst*, every client sends in the same instant, and
*steady*, sends spread over one answer's length and each client asking STEADY_ROUNDS
questions back to back, so every later send lands among `clients` running answers.

Per load and shape: answers done, tokens delivered live (no sync is ever asked), seq gaps
(and deltas lost in them), send -> first delta p50/p99, token -> frame p50/p99, server CPU
seconds per 1,000 tokens (utime+stime of the server processes from /proc; the share in the kernel beside it) and its ratio to
the reference, frames and bytes per answer, server RSS; on PostgreSQL also transactions,
rows written and connections opened per answer (pg_stat_database deltas: in autocommit each
statement outside a transaction block is one transaction, so this is a lower bound of
statements; SQLite gets no such figure).
Then: idle capacity (authenticated idle sockets on one process, memory per socket) and slow
readers (clients that stop reading during a long answer: server RSS growth).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import httpx  # noqa: E402

from tests.e2e.servers import PASSWORD, Server, base_env, free_port, login, manage  # noqa: E402
from tests.fake_upstream import STAMP  # noqa: E402

USERS = [f"load{n}" for n in range(4)]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
ASK = re.compile(r"bench (\d+) ([\d.]+) (\d+)")
CLK = os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    name: str
    clients: int
    tokens: int
    rate: float
    processes: int = 1


LOADS = {
    # L0: short answers (5 tokens), so CPU per 1,000 tokens is the fixed cost of an answer x 200
    # (its send, its final save, its frames around the deltas, its conversation's title).
    "L0": Load("L0", 60, 5, 2),
    "L1": Load("L1", 20, 100, 50),
    "L2": Load("L2", 60, 200, 25),
    "L3": Load("L3", 200, 100, 10),
    "L3x2": Load("L3x2", 200, 100, 10, processes=2),
    "L2x2": Load("L2x2", 60, 200, 25, processes=2),  # L2 as deployed on two cores: WEB_PROCESSES=2
}
STEADY_ROUNDS = 3  # questions per client in *steady* arrivals
QUICK = {
    "L0": Load("L0", 10, 5, 2),
    "L1": Load("L1", 5, 40, 50),
    "L2": Load("L2", 10, 50, 25),
    "L3": Load("L3", 20, 30, 10),
    "L3x2": Load("L3x2", 20, 30, 10, processes=2),
    "L2x2": Load("L2x2", 10, 50, 25, processes=2),
}


# -- the upstream, in a process of its own -----------------------------------------------------
def upstream_main(port: int, ready, first_delay: float = 0.0) -> None:
    from tests.fake_upstream import FakeUpstream, Scenario

    class BenchUpstream(FakeUpstream):
        """Answers `bench <tokens> <rate> <padding>` with stamped tokens at that rate."""

        async def _chat(self, reader, writer, payload):
            asked = [m for m in payload.get("messages", []) if m.get("role") == "user"]
            found = ASK.search(str(asked[-1].get("content", ""))) if asked else None
            if found:
                count, rate, pad = int(found[1]), float(found[2]), int(found[3])
                scenario = Scenario(content=[f" t{n}" + "x" * pad for n in range(count)], delay=1 / rate,
                                    first_delay=first_delay, stamp=True, usage="auto")
                with self._cond:  # taken by the base class's _chat below, in this same loop step
                    self._queue.appendleft(scenario)
            with self._cond:
                self.requests.clear()  # a long run must not keep every request
            await super()._chat(reader, writer, payload)

    BenchUpstream(port=port, default=Scenario.words("A short reply.")).start()
    ready.set()
    while True:
        time.sleep(3600)


# -- /proc ------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    return sum(cpu_times(pid))


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK, int(fields[12]) / CLK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


# -- clients (in worker processes) ------------------------------------------------------------
class Reading:
    """What one client saw of one answer."""

    def __init__(self):
        self.sent = 0.0
        self.first_delta = None
        self.delays: list[float] = []
        self.tokens = 0
        self.last_seq = 0
        self.gaps = 0
        self.lost = 0
        self.frames = 0
        self.bytes = 0
        self.done = False
        self.error = None

    def frame(self, raw: str, now: float) -> dict:
        frame = json.loads(raw)
        self.frames += 1
        self.bytes += len(raw.encode())
        if frame["type"] == "message.delta":
            if self.first_delta is None:
                self.first_delta = now - self.sent
            seq = frame["seq"]
            if seq > self.last_seq + 1:
                self.gaps += 1
                self.lost += seq - self.last_seq - 1
            self.last_seq = max(self.last_seq, seq)
            for stamp in STAMP.findall(frame["delta"]):
                self.tokens += 1
                self.delays.append(now - float(stamp))
        elif frame["type"] == "message.done" and frame["message"]["role"] == "assistant":
            self.done = True
        return frame

    def result(self) -> dict:
        return {k: getattr(self, k) for k in
                ("first_delta", "delays", "tokens", "gaps", "lost", "frames", "bytes", "done", "error")}


async def ws_client(target, ask, barrier_wait, timeout, rounds=1) -> list[dict]:
    """One conversation: `rounds` questions in a row, each read to its end."""
    from websockets.asyncio.client import connect

    url, ws_url, session, offset = target
    readings = []
    try:
        socket = await connect(f"{ws_url}/ws/chat/{uuid.uuid4()}/", origin=url,
                               additional_headers={"Cookie": f"sessionid={session}"},
                               open_timeout=60, max_size=None)
    except Exception as exc:  # noqa: BLE001 - a figure, not a failure
        await barrier_wait()
        reading = Reading()
        reading.error = f"connect: {exc!r}"[:200]
        return [reading.result()]
    try:
        json.loads(await asyncio.wait_for(socket.recv(), 60))  # the snapshot
        await barrier_wait()
        await asyncio.sleep(offset)
        async with asyncio.timeout(timeout):
            for _ in range(rounds):
                reading = Reading()
                readings.append(reading)
                reading.sent = time.time()
                await socket.send(json.dumps({"type": "message.send", "content": ask}))
                while not reading.done:
                    frame = reading.frame(await socket.recv(), time.time())
                    if frame["type"] == "error":
                        reading.error = frame.get("code")
                        break
                if reading.error:
                    break
    except Exception as exc:  # noqa: BLE001
        if readings:
            readings[-1].error = repr(exc)[:200]
    finally:
        await socket.close()
    return [r.result() for r in readings]


async def sse_client(client: httpx.AsyncClient, target, ask, barrier_wait, timeout, reference=False,
                     rounds=1) -> list[dict]:
    url, _, session, offset = target
    await barrier_wait()
    await asyncio.sleep(offset)
    csrf = "b" * 32
    if reference:
        path, headers = f"{url}/relay", {}
    else:
        path = f"{url}/api/conversations/{uuid.uuid4()}/messages/"
        headers = {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRFToken": csrf, "Origin": url}
    readings = []
    try:
        async with asyncio.timeout(timeout):
            for _ in range(rounds):
                reading = Reading()
                readings.append(reading)
                reading.sent = time.time()
                async with client.stream("POST", path, json={"content": ask}, headers=headers) as response:
                    if response.status_code != 200:
                        reading.error = f"HTTP {response.status_code}"
                        break
                    buffer = ""
                    async for text in response.aiter_text():
                        now = time.time()
                        buffer += text
                        *blocks, buffer = buffer.split("\n\n")
                        for block in blocks:
                            data = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
                            if data:
                                reading.frame(data[0], now)
                        if reading.done:
                            break
    except Exception as exc:  # noqa: BLE001
        readings[-1].error = repr(exc)[:200]
    return [r.result() for r in readings]


def client_worker(spec: dict, barrier, results) -> None:
    async def run():
        async def barrier_wait():
            await asyncio.to_thread(barrier.wait)

        gate = asyncio.Event()
        arrived = 0

        async def all_ready():  # every client of this worker, then every worker
            nonlocal arrived
            arrived += 1
            if arrived == len(spec["targets"]):
                await barrier_wait()
                gate.set()
            await gate.wait()

        if spec["transport"] == "ws":
            answers = await asyncio.gather(*(ws_client(t, spec["ask"], all_ready, spec["timeout"], spec["rounds"])
                                             for t in spec["targets"]))
            return [a for client in answers for a in client]
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=httpx.Timeout(spec["timeout"], connect=30), limits=limits) as client:
            answers = await asyncio.gather(*(sse_client(client, t, spec["ask"], all_ready, spec["timeout"],
                                                        spec["transport"] == "ref", spec["rounds"])
                                             for t in spec["targets"]))
            return [a for client in answers for a in client]

    results.put(asyncio.run(run()))


def run_clients(transport: str, targets: list, ask: str, timeout: float, workers: int, rounds: int = 1) -> list[dict]:
    """Each target is (url, ws_url, session, seconds to wait after the common start)."""
    ctx = multiprocessing.get_context("spawn")
    workers = max(1, min(workers, len(targets)))
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    procs = [ctx.Process(target=client_worker, args=(
        {"transport": transport, "targets": targets[n::workers], "ask": ask, "timeout": timeout,
         "rounds": rounds}, barrier, results))
        for n in range(workers)]
    for proc in procs:
        proc.start()
    out = []
    for _ in procs:
        out += results.get(timeout=timeout + 300)
    for proc in procs:
        proc.join(30)
    return out


# -- servers ----------------------------------------------------------------------------------
@dataclass
class Shape:
    name: str
    servers: list
    sessions: dict
    database: str | None = None

    @property
    def pids(self):
        return [s.process.pid for s in self.servers]


def prepare(env: dict) -> None:
    manage(env, "migrate", "--noinput", "-v", "0", timeout=300)
    for name in USERS:
        manage({**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD}, "createsuperuser", "--noinput",
               "--username", name, "--email", f"{name}@example.com")


def pg_stats(database: str) -> dict:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        row = admin.execute(
            "select xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted, sessions "
            "from pg_stat_database where datname = %s", (database,)).fetchone()
    return {"xacts": row[0], "writes": row[1], "sessions": row[2]}


def quiet(pids, budget=90.0) -> None:
    """Wait until the servers are idle (answers of timed-out clients still run there)."""
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(0.5)
        if sum(cpu_seconds(p) for p in pids) - before < 0.03:
            return


def measure(label, transport, load: Load, servers, sessions, pids, args, database=None, reference_cpu=None,
            arrivals="burst"):
    """*burst*: every client sends at the same instant, once. *steady*: client n starts n/N of
    an answer's length after the first and asks STEADY_ROUNDS questions in a row, so from the
    end of the ramp on, `clients` answers are running all the time and each send lands among
    the others' streams (how users load a server: not all in one millisecond)."""
    length = load.tokens / load.rate
    rounds = STEADY_ROUNDS if arrivals == "steady" else 1
    targets = []
    for n in range(load.clients):
        server = servers[n % len(servers)]
        offset = n * length / load.clients if arrivals == "steady" else 0
        targets.append((server.url, server.ws_url, sessions.get(server.name, {}).get(USERS[n % len(USERS)]), offset))
    ask = f"bench {load.tokens} {load.rate} 0"
    timeout = length * (rounds + 1) + args.grace
    quiet(pids)
    stats = pg_stats(database) if database else None
    before = [cpu_times(p) for p in pids]
    started = time.monotonic()
    results = run_clients(transport, targets, ask, timeout, args.client_procs, rounds)
    wall = time.monotonic() - started
    after = [cpu_times(p) for p in pids]
    cpu_used = sum(map(sum, after)) - sum(map(sum, before))
    system = sum(s for _, s in after) - sum(s for _, s in before)
    rss = sum(rss_mb(p) for p in pids)
    quiet(pids)
    if database:
        time.sleep(1.0)  # backends report their counters when they end or within a second
        after = pg_stats(database)
        db = {k: (after[k] - stats[k]) / (load.clients * rounds) for k in after}
    else:
        db = None
    expected = load.clients * load.tokens * rounds
    tokens = sum(r["tokens"] for r in results)
    delays = [d for r in results for d in r["delays"]]
    firsts = [r["first_delta"] for r in results if r["first_delta"] is not None]
    errors = [r["error"] for r in results if r["error"]]
    per_k = cpu_used / (expected / 1000)
    line = {
        "load": load.name, "shape": label, "transport": transport, "arrivals": arrivals,
        "done": sum(r["done"] for r in results), "answers": load.clients * rounds,
        "live_pct": 100 * tokens / expected,
        "gaps": sum(r["gaps"] for r in results), "lost": sum(r["lost"] for r in results),
        "answers_with_gap": sum(r["gaps"] > 0 for r in results),
        "first_p50_ms": pct(firsts, 50) * 1000, "first_p99_ms": pct(firsts, 99) * 1000,
        "delay_p50_ms": pct(delays, 50) * 1000, "delay_p99_ms": pct(delays, 99) * 1000,
        "cpu_per_1k": per_k, "ratio": per_k / reference_cpu if reference_cpu else None,
        "system_pct": 100 * system / cpu_used if cpu_used else 0.0,
        "frames": statistics.mean(r["frames"] for r in results), "bytes": statistics.mean(r["bytes"] for r in results),
        "rss_mb": rss, "wall_s": wall, "db": db, "errors": errors[:3], "error_count": len(errors),
    }
    print(format_line(line), flush=True)
    return line


def format_line(x: dict) -> str:
    ratio = f" ({x['ratio']:.2f}x ref)" if x["ratio"] else ""
    db = ""
    if x["db"]:
        db = (f" | db per answer: {x['db']['xacts']:.1f} xacts, {x['db']['writes']:.1f} rows written, "
              f"{x['db']['sessions']:.1f} connections")
    errors = f" | {x['error_count']} errors e.g. {x['errors']}" if x["error_count"] else ""
    return (f"{x['load']:5} {x['arrivals']:6} {x['shape']:14} {x['transport']:3} | done {x['done']}/{x['answers']} | "
            f"live {x['live_pct']:.1f}% | gaps {x['gaps']} (lost {x['lost']}, {x['answers_with_gap']} answers) | "
            f"first delta p50 {x['first_p50_ms']:.0f} ms p99 {x['first_p99_ms']:.0f} ms | "
            f"token->frame p50 {x['delay_p50_ms']:.1f} ms p99 {x['delay_p99_ms']:.1f} ms | "
            f"CPU {x['cpu_per_1k']:.2f} s/1k tokens{ratio}, {x['system_pct']:.0f} % in the kernel | {x['frames']:.0f} frames, {x['bytes'] / 1024:.1f} KB "
            f"per answer | RSS {x['rss_mb']:.0f} MB | {x['wall_s']:.1f} s{db}{errors}")


def warm(servers, sessions, args) -> None:
    """One answer per process first: the first answer after start is not what is measured."""
    for server in servers:
        run_clients("ws", [(server.url, server.ws_url, sessions[server.name][USERS[0]], 0)], "bench 5 100 0", 60, 1)


# -- idle capacity and slow readers -----------------------------------------------------------
async def idle_capacity(server: Server, sessions: dict, count: int) -> dict:
    from websockets.asyncio.client import connect

    pid = server.process.pid
    sockets, failures, stop = [], [], False
    gate = asyncio.Semaphore(64)

    async def one(n):
        nonlocal stop
        if stop:
            return
        async with gate:
            if stop:
                return
            try:
                socket = await connect(f"{server.ws_url}/ws/chat/{uuid.uuid4()}/", origin=server.url,
                                       additional_headers={"Cookie": f"sessionid={sessions[USERS[n % len(USERS)]]}"},
                                       open_timeout=60, max_size=None, ping_interval=None)
                first = json.loads(await asyncio.wait_for(socket.recv(), 60))
                if first["type"] != "conversation.snapshot":
                    raise RuntimeError(first)
                sockets.append(socket)
            except Exception as exc:  # noqa: BLE001
                failures.append(repr(exc)[:160])
                if len(failures) >= 50:
                    stop = True

    quiet([pid])
    rss_before = rss_mb(pid)
    started = time.monotonic()
    await asyncio.gather(*(one(n) for n in range(count)))
    opened = time.monotonic() - started
    await asyncio.sleep(2)
    rss_after = rss_mb(pid)
    cpu = cpu_seconds(pid)
    await asyncio.sleep(10)
    idle_cpu = (cpu_seconds(pid) - cpu) / 10
    held = sum(s.state.name == "OPEN" for s in sockets)
    await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
    return {"asked": count, "opened": len(sockets), "still_open_after_12s": held, "failures": len(failures),
            "failure_examples": failures[:2], "open_s": opened, "rss_before_mb": rss_before, "rss_after_mb": rss_after,
            "kb_per_socket": (rss_after - rss_before) * 1024 / max(1, len(sockets)), "idle_cpu_pct": idle_cpu * 100}


async def slow_readers(server: Server, sessions: dict, readers: int, tokens: int, rate: float, pad: int) -> dict:
    """`readers` clients ask for a long answer of fat tokens, then stop reading; a control
    group of the same size reads everything. Server RSS is sampled all along."""
    from websockets.asyncio.client import connect

    pid = server.process.pid
    ask = f"bench {tokens} {rate} {pad}"
    out = {}
    for mode in ("reading", "not reading"):
        quiet([pid])
        base = rss_mb(pid)
        sockets = []
        for n in range(readers):
            socket = await connect(f"{server.ws_url}/ws/chat/{uuid.uuid4()}/", origin=server.url,
                                   additional_headers={"Cookie": f"sessionid={sessions[USERS[n % len(USERS)]]}"},
                                   max_size=None, max_queue=1 if mode == "not reading" else 16, ping_interval=None)
            await socket.recv()
            sockets.append(socket)
        for socket in sockets:
            await socket.send(json.dumps({"type": "message.send", "content": ask}))

        async def drain(socket):
            try:
                while True:
                    frame = json.loads(await socket.recv())
                    if frame["type"] == "message.done" and frame["message"]["role"] == "assistant":
                        return
            except Exception:  # noqa: BLE001
                return

        drains = [asyncio.create_task(drain(s)) for s in sockets] if mode == "reading" else []
        peak, samples = base, []
        deadline = time.monotonic() + tokens / rate + 8
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            now = rss_mb(pid)
            peak = max(peak, now)
            samples.append(now)
        quiet([pid], 30)
        held = rss_mb(pid)
        for socket in sockets:
            socket.transport.abort() if mode == "not reading" else None
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        for task in drains:
            task.cancel()
        await asyncio.sleep(3)
        out[mode] = {"rss_base_mb": base, "rss_peak_mb": peak, "growth_mb": peak - base,
                     "rss_at_end_mb": held, "rss_after_close_mb": rss_mb(pid)}
    out["answer_mb"] = readers * tokens * (pad + 30) / 2**20
    return out


# -- main -------------------------------------------------------------------------------------
def start_shape(name: str, args, upstream_url: str, logs: Path, processes: int = 2, **env: str) -> Shape:
    """`embedded`: one process on SQLite; `deployed`: `processes` on a new PostgreSQL database
    and Redis. `env` adds to the processes' environment."""
    common = dict(LLM_PROVIDER="openai", LLM_BASE_URL=upstream_url, CHAT_RATE_LIMIT="1000000/m",
                  CHAT_MAX_ANSWERS_PER_USER="100000", CHAT_MAX_SOCKETS_PER_USER="100000", **env)
    database = None
    if name == "embedded":
        env = base_env(DATABASE_URL=f"sqlite:///{logs}/bench.sqlite3", REDIS_URL=None, **common)
        count = 1
    else:
        import psycopg

        database = f"bench_load_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{database}"')
        env = base_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{database}",
                       REDIS_URL="redis://127.0.0.1:6379/0", CHAT_REDIS_PREFIX=f"bench-{uuid.uuid4().hex[:10]}", **common)
        count = processes
    shape = Shape(name, [], {}, database)
    prepare(env)
    for n in range(count):
        server = Server(f"{name}-{n}", env, logs).start()
        shape.servers.append(server)
    for server in shape.servers:
        server.wait_ready(60)
        shape.sessions[server.name] = {user: login(server, user) for user in USERS}
    warm(shape.servers, shape.sessions, args)
    return shape


def stop_shape(shape: Shape) -> None:
    for server in shape.servers:
        server.kill()
    if shape.database:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{shape.database}" WITH (FORCE)')


def raise_open_files() -> int:
    """As many open files as allowed (inherited by servers and clients); returns the limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def start_upstream(first_delay: float = 0.0):
    """The stamped upstream in a process of its own: (the process, its LLM_BASE_URL)."""
    ctx = multiprocessing.get_context("spawn")
    ready, port = ctx.Event(), free_port()
    upstream = ctx.Process(target=upstream_main, args=(port, ready, first_delay), daemon=True)
    upstream.start()
    ready.wait(30)
    return upstream, f"http://127.0.0.1:{port}/v1"


def main(args) -> None:
    hard = raise_open_files()
    loads = [(QUICK if args.quick else LOADS)[name] for name in args.loads.split(",") if name]
    shapes = [s for s in args.shapes.split(",") if s]
    transports = [t for t in args.transports.split(",") if t]
    print(f"bench/load.py {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} | {os.cpu_count()} cores | "
          f"load average {os.getloadavg()} | open files {hard} | client processes {args.client_procs} | "
          f"the model's first token after {args.first_token_ms:g} ms", flush=True)
    logs = Path(tempfile.mkdtemp(prefix="bench-load-"))
    upstream, upstream_url = start_upstream(args.first_token_ms / 1000)
    relay = Server("reference", base_env(PYTHONPATH=f"{ROOT}:{ROOT / 'src'}", LLM_BASE_URL=upstream_url), logs,
                   app="bench.reference_relay:app").start()
    started: dict[str, Shape] = {}
    lines = []
    try:
        relay.wait_ready(60)
        warm_ref = [(relay.url, relay.ws_url, None, 0)]
        run_clients("ref", warm_ref, "bench 5 100 0", 60, 1)
        for name in shapes:
            extra = dict(pair.split("=", 1) for pair in args.server_env)
            started[name] = start_shape(name, args, upstream_url, logs, **extra)
            print(f"{name}: {len(started[name].servers)} Daphne process(es) ready "
                  f"(RSS {[round(rss_mb(p)) for p in started[name].pids]} MB)", flush=True)
        for load in loads:
            print(f"-- {load.name}: {load.clients} clients x {load.tokens} tokens at {load.rate:g}/s, "
                  f"{load.processes} process(es) | load average {os.getloadavg()}", flush=True)
            for arrivals in args.arrivals.split(","):
                ref = measure("reference", "sse", load, [relay], {}, [relay.process.pid], args, arrivals=arrivals)
                lines.append(ref)
                for name in shapes:
                    shape = started[name]
                    if load.processes > 1 and name == "embedded":
                        continue  # the in-process layer cannot span processes
                    servers = shape.servers[:load.processes]
                    for transport in transports:
                        lines.append(measure(name if load.processes == 1 else f"{name} x{load.processes}", transport,
                                             load, servers, shape.sessions, [s.process.pid for s in servers], args,
                                             shape.database, ref["cpu_per_1k"], arrivals))
        for name in shapes:
            shape = started[name]
            server = shape.servers[0]
            if args.slow_readers:
                print(f"-- slow readers, {name} | load average {os.getloadavg()}", flush=True)
                tokens, rate, pad = (300, 100, 2000) if args.quick else (2000, 200, 4000)
                print(f"slow readers ({args.slow_readers} x {tokens} tokens of {pad} B at {rate}/s), {name}:",
                      asyncio.run(slow_readers(server, shape.sessions[server.name], args.slow_readers, tokens, rate, pad)),
                      flush=True)
            if args.idle:
                print(f"-- idle capacity, {name} | load average {os.getloadavg()}", flush=True)
                print(f"idle sockets, {name}, one process:",
                      asyncio.run(idle_capacity(server, shape.sessions[server.name], args.idle)), flush=True)
        print(f"load average at the end {os.getloadavg()}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps(lines, indent=1))
    finally:
        for shape in started.values():
            stop_shape(shape)
        relay.kill()
        upstream.kill()
        print(f"logs in {logs}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loads", default="L1,L2,L3,L3x2", help="of L0 (short answers: the fixed cost of one), L1, L2, L2x2, L3, L3x2 (x2: on two processes)")
    parser.add_argument("--shapes", default="embedded,deployed", help="of embedded, deployed")
    parser.add_argument("--transports", default="ws,sse", help="of ws, sse")
    parser.add_argument("--arrivals", default="burst,steady",
                        help="burst (all clients send at once) and/or steady (sends spread, answers back to back)")
    parser.add_argument("--first-token-ms", type=float, default=0,
                        help="the upstream's time to first token (a real model's: hundreds of ms); "
                             "every first delta includes it")
    parser.add_argument("--idle", type=int, default=10000, help="idle sockets to try to hold (0: skip)")
    parser.add_argument("--slow-readers", type=int, default=3, help="clients that stop reading (0: skip)")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the clients run in")
    parser.add_argument("--grace", type=float, default=60, help="seconds a client waits beyond the answer's length")
    parser.add_argument("--quick", action="store_true", help="small loads, short answers, 500 idle sockets")
    parser.add_argument("--json", help="also write the load figures to this file")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the chat servers' environment, e.g. METRICS_ENABLED=0 (repeatable)")
    args = parser.parse_args()
    if args.quick:
        args.idle = min(args.idle, 500)
        args.grace = min(args.grace, 20)
    main(args)
