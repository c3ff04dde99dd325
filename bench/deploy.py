"""Deploys that lose nothing, and what nginx costs per frame.

    .venv/bin/python bench/deploy.py [--clients 40] [--processes 3] [--tokens 100] [--rate 25]
                                     [--rounds 1] [--drain 30] [--repeats 2] [--quick]

The topology docker-compose.yml runs, from real parts: nginx (the repo's configuration,
Debian's package) in front of several Daphne processes on a fresh PostgreSQL database (made
and dropped here) and Redis. The upstream is bench/load.py's stamped fake, in a process of
its own; every answer is `--tokens` tokens at `--rate` a second, shorter than the drain time.

1. nginx's cost per frame, two ways. (a) The same load (`--clients` answers at once)
   straight to the Daphne processes (clients spread over them) and through nginx,
   alternately `--repeats` times: token -> frame delay p50/p99 from the upstream's emit
   stamps, measured by bench/load.py's clients in processes of their own. (b) Paired: every
   answer watched by two sockets on the same process, one straight and one through an nginx
   whose only upstream is that process; the difference of each frame's two arrival times is
   what nginx adds, without the run-to-run noise of (a).
2. A rolling restart under load: `--clients` askers (tests/e2e/asker.py: they reconnect and
   send again as the web client does) keep asking through nginx while every process is
   restarted in turn (SIGTERM, drain, exit, start on its port, ready), `--rounds` times.
   Counted: answers, deltas lost (seq gaps while connected, snapshots contradicting what
   was seen), answers that did not end `complete` (interrupted), sends refused `unavailable`
   and sent again, sockets moved (1012); per restart, SIGTERM -> exit and exit -> ready.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from bench.load import (  # noqa: E402
    USERS, pct, quiet, raise_open_files, run_clients, start_shape, start_upstream, stop_shape,
)
from tests.e2e.asker import Asker  # noqa: E402
from tests.e2e.proxy import Nginx, nginx_binary  # noqa: E402


def delay_figures(results: list[dict], expected: int) -> dict:
    delays = [d for r in results for d in r["delays"]]
    return {"p50_ms": pct(delays, 50) * 1000, "p99_ms": pct(delays, 99) * 1000,
            "live_pct": 100 * sum(r["tokens"] for r in results) / expected,
            "gaps": sum(r["gaps"] for r in results), "done": sum(r["done"] for r in results),
            "errors": sum(bool(r["error"]) for r in results)}


def nginx_cost(shape, nginx: Nginx, args) -> list[tuple[str, dict]]:
    """The same load straight to the processes and through nginx, alternately."""
    ask = f"bench {args.tokens} {args.rate:g} 0"
    timeout = args.tokens / args.rate + 60
    session = shape.sessions[shape.servers[0].name][USERS[0]]
    # bench/load.py's targets: (url, ws_url, session, seconds after the common start): all at once.
    direct = [(s.url, s.ws_url, shape.sessions[s.name][USERS[n % len(USERS)]], 0)
              for n, s in zip(range(args.clients), shape.servers * args.clients)]
    through = [(nginx.url, nginx.ws_url, session, 0)] * args.clients
    figures = []
    for repeat in range(args.repeats):
        for label, targets in (("direct", direct), ("nginx", through)):
            quiet(shape.pids)
            found = delay_figures(run_clients("ws", targets, ask, timeout, args.client_procs),
                                  args.clients * args.tokens)
            figures.append((label, found))
            print(f"  {label:6} run {repeat + 1}: token->frame p50 {found['p50_ms']:.1f} ms, p99 {found['p99_ms']:.1f} ms"
                  f" | done {found['done']}/{args.clients}, live {found['live_pct']:.1f}%, gaps {found['gaps']},"
                  f" errors {found['errors']}", flush=True)
    return figures


async def paired(shape, logs: Path, args) -> dict:
    """Each frame's arrival through nginx minus its arrival straight from the same process."""
    from websockets.asyncio.client import connect

    server = shape.servers[0]
    session = shape.sessions[server.name][USERS[0]]
    nginx = Nginx(logs / "nginx-one", [f"127.0.0.1:{server.port}"]).start()
    ask = f"bench {args.tokens} {args.rate:g} 0"

    async def watch(front, conversation, arrivals: dict, ready: asyncio.Event):
        socket = await connect(f"{front.ws_url}/ws/chat/{conversation}/", origin=front.url,
                               additional_headers={"Cookie": f"sessionid={session}"}, max_size=None)
        await socket.recv()  # the snapshot
        ready.set()
        async for raw in socket:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame["type"] == "message.delta":
                arrivals[frame["seq"]] = now
            elif frame["type"] == "message.done" and frame["message"]["role"] == "assistant":
                break
        return socket

    async def one():
        conversation = uuid.uuid4()
        straight, proxied = {}, {}
        ready = [asyncio.Event(), asyncio.Event()]
        watchers = [asyncio.create_task(watch(server, conversation, straight, ready[0])),
                    asyncio.create_task(watch(nginx, conversation, proxied, ready[1]))]
        await asyncio.gather(*(event.wait() for event in ready))
        sender = await connect(f"{server.ws_url}/ws/chat/{conversation}/", origin=server.url,
                               additional_headers={"Cookie": f"sessionid={session}"}, max_size=None)
        await sender.recv()
        await sender.send(json.dumps({"type": "message.send", "content": ask}))
        for socket in await asyncio.gather(*watchers):
            await socket.close()
        await sender.close()
        return [proxied[seq] - straight[seq] for seq in straight if seq in proxied], len(straight), len(proxied)

    try:
        quiet(shape.pids)
        runs = await asyncio.gather(*(one() for _ in range(args.clients // 2)))
    finally:
        nginx.stop()
    added = [d for differences, _, _ in runs for d in differences]
    return {"frames": len(added), "missing": sum(s - p for _, s, p in runs),
            "p50_ms": pct(added, 50) * 1000, "p99_ms": pct(added, 99) * 1000}


async def rolling_restart(shape, nginx: Nginx, args) -> dict:
    session = shape.sessions[shape.servers[0].name][USERS[0]]
    askers = [Asker(nginx, session) for _ in range(args.clients)]
    ask = f"bench {args.tokens} {args.rate:g} 0"
    restarting = asyncio.Event()
    restarting.set()

    async def keep_asking(asker):
        seen = []
        while restarting.is_set():
            seen.append(await asker.ask(ask, timeout=args.drain + args.tokens / args.rate + 60))
        await asker.close()
        return seen

    clients = [asyncio.create_task(keep_asking(asker)) for asker in askers]
    await asyncio.sleep(args.tokens / args.rate / 2)  # every client mid-answer
    restarts = []
    for _ in range(args.rounds):
        for server in shape.servers:
            running = (server.readiness() or {}).get("answers")
            began = time.monotonic()
            server.sigterm()
            status = await asyncio.to_thread(server.process.wait, args.drain + 60)
            stopped = time.monotonic()
            server.start()
            await asyncio.to_thread(server.wait_ready, 60)
            restarts.append({"process": server.name, "answers_running": running, "exit": status,
                             "sigterm_to_exit_s": stopped - began, "exit_to_ready_s": time.monotonic() - stopped})
            print(f"  restarted {server.name}: {running} answer(s) running, exit {status}, "
                  f"SIGTERM->exit {stopped - began:.2f} s, exit->ready {time.monotonic() - stopped:.2f} s", flush=True)
    restarting.clear()
    seen = [answer for answers in await asyncio.gather(*clients) for answer in answers]
    return {
        "answers": len(seen),
        "complete_and_whole": sum(a.whole for a in seen),
        "interrupted": sum(a.answer["status"] == "interrupted" for a in seen),
        "not_complete": sum(a.answer["status"] != "complete" for a in seen),
        "deltas_lost": sum(a.lost for a in seen),
        "gaps": sum(a.gaps for a in seen),
        "contradicted": sum(a.contradicted for a in seen),
        "refused_and_resent": sum(a.refused for a in seen),
        "sockets_moved": sum(a.closes.count(1012) for a in seen),
        "sockets_dropped": sum(sum(code != 1012 for code in a.closes) for a in seen),
        "handshakes_refused": sum(asker.failed_connects for asker in askers),
        "restarts": restarts,
    }


def main(args) -> None:
    if nginx_binary() is None:
        sys.exit("nginx is not installed: apt-get install nginx")
    raise_open_files()
    print(f"bench/deploy.py {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} | {os.cpu_count()} cores | "
          f"load average {os.getloadavg()} | {args.processes} Daphne processes behind nginx | "
          f"{args.clients} clients x {args.tokens} tokens at {args.rate:g}/s | drain {args.drain:g} s", flush=True)
    logs = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    upstream, upstream_url = start_upstream()
    shape = nginx = None
    try:
        shape = start_shape("deployed", args, upstream_url, logs, processes=args.processes,
                            CHAT_DRAIN_SECONDS=str(args.drain), DJANGO_TRUSTED_PROXIES="127.0.0.1")
        nginx = Nginx(logs / "nginx", [f"127.0.0.1:{s.port}" for s in shape.servers]).start()
        print("-- 1. token -> frame, straight to Daphne and through nginx", flush=True)
        figures = nginx_cost(shape, nginx, args)
        for label in ("direct", "nginx"):
            runs = [f for name, f in figures if name == label]
            p50s = ", ".join(f"{r['p50_ms']:.1f}" for r in runs)
            p99s = ", ".join(f"{r['p99_ms']:.1f}" for r in runs)
            print(f"  {label:6} token->frame p50 {p50s} ms | p99 {p99s} ms (each run)")
        pairs = asyncio.run(paired(shape, logs, args))
        print(f"  paired ({args.clients // 2} answers, each frame straight and through nginx, same process): "
              f"nginx adds p50 {pairs['p50_ms']:.2f} ms, p99 {pairs['p99_ms']:.2f} ms over {pairs['frames']} frames"
              f" ({pairs['missing']} missing through nginx)", flush=True)
        print(f"-- 2. rolling restart of {args.processes} processes x {args.rounds} round(s) under "
              f"{args.clients} clients | load average {os.getloadavg()}", flush=True)
        result = asyncio.run(rolling_restart(shape, nginx, args))
        restarts = result.pop("restarts")
        print("  " + ", ".join(f"{name} {value}" for name, value in result.items()), flush=True)
        print(f"  SIGTERM->exit max {max(r['sigterm_to_exit_s'] for r in restarts):.2f} s, "
              f"exit->ready max {max(r['exit_to_ready_s'] for r in restarts):.2f} s", flush=True)
        print(f"load average at the end {os.getloadavg()}", flush=True)
    finally:
        if nginx is not None:
            nginx.stop()
        if shape is not None:
            stop_shape(shape)
        upstream.kill()
        print(f"logs in {logs}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=40, help="answers at once")
    parser.add_argument("--processes", type=int, default=3, help="Daphne processes behind nginx")
    parser.add_argument("--tokens", type=int, default=100, help="tokens per answer")
    parser.add_argument("--rate", type=float, default=25, help="tokens a second")
    parser.add_argument("--rounds", type=int, default=1, help="rolling restarts of every process")
    parser.add_argument("--drain", type=float, default=30, help="CHAT_DRAIN_SECONDS of the processes")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side of the nginx comparison")
    parser.add_argument("--client-procs", type=int, default=2, help="processes the delay clients run in")
    parser.add_argument("--quick", action="store_true", help="10 clients, 40 tokens, one repeat")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.tokens, args.repeats = min(args.clients, 10), min(args.tokens, 40), 1
    main(args)
