"""Graceful shutdown on SIGTERM (a deploy, a rolling restart, `docker stop`).

1. Stop taking new work: /readyz says 503 `draining`; a new socket's handshake is refused
   with 503, which nginx passes on to the next process (config.ws_server); a new answer is
   refused with `unavailable` (chat.generation.accepting), nothing stored.
2. Tell every open socket to reconnect: close code 1012 (service restart), on which the
   client reconnects at once, through the proxy, to another process. Answers do not depend
   on sockets: the new socket gets a snapshot from the live state and the frames that
   follow through Redis, from this process while its answers go on.
3. Let the answers running here finish, for up to CHAT_DRAIN_SECONDS.
4. End what is left `interrupted` with its text so far (stored, and announced to every
   listener on every process), give HTTP responses a moment to end (an SSE stream ends
   with its answer's message.done), and stop the reactor: the process exits with 0.

Daphne runs Twisted with its signal handlers, whose SIGTERM stops the reactor at once and
cancels every connection's application. Ours replaces that one once the reactor runs
(Twisted installs its own while starting). SIGINT (Ctrl+C) still stops at once, and a
second SIGTERM changes nothing: SIGKILL is the way to cut a drain short.

Twisted is imported in functions only: this module is imported by config.ws_server, which
also runs outside Daphne.
"""
import asyncio
import logging
import signal

from django.apps import apps
from django.conf import settings

log = logging.getLogger(__name__)

# After the answers: how long HTTP responses and closing sockets get before the reactor stops.
RESPONSES_GRACE = 5.0

_server = None  # Daphne's Server, once it builds its factories (attach)
_draining = False
_task: asyncio.Task | None = None


def draining() -> bool:
    """Whether this process is shutting down (it takes no new sockets or answers)."""
    return _draining


def attach(server) -> None:
    """Daphne's server is starting: take over its SIGTERM once its reactor runs."""
    global _server
    _server = server
    if not getattr(server, "signal_handlers", True):
        return  # embedded (tests): whoever runs the server handles signals
    from twisted.internet import reactor

    reactor.callWhenRunning(_take_sigterm)


def _take_sigterm() -> None:
    from twisted.internet import reactor

    # A signal handler may run between any two bytecodes: hand over to the reactor's thread.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: reactor.callFromThread(begin))


def open_sockets() -> int | None:
    """WebSockets open on this process; None outside Daphne."""
    if _server is None:
        return None
    from config import ws_server

    return len(ws_server.open_sockets(_server))


# Async callables awaited once the answers are done and before the process exits: apps
# that hold writes in memory store them (usage.recorder). A failing one is logged.
after_answers: list = []


def begin() -> None:
    """Start draining (on the event loop's thread). A second call only says so."""
    global _draining, _task
    if _draining:
        log.warning("SIGTERM again: still draining (SIGINT or SIGKILL stop at once)")
        return
    _draining = True
    loop = asyncio.get_running_loop()
    _task = loop.create_task(drain(), name="drain")
    # Whatever happens to the drain, the process stops: a SIGTERM must not be swallowed.
    loop.call_later(settings.CHAT_DRAIN_SECONDS + 3 * RESPONSES_GRACE, _stop_reactor)


async def drain(stop=None) -> None:
    """Steps 1-4 above; `stop` ends the process (default: stop Daphne's reactor)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.CHAT_DRAIN_SECONDS
    try:
        generation = None
        if apps.ready:  # else a bare ASGI app under this server (tests): no answers here
            from chat import generation

            generation.stop_accepting()  # before the sockets go: a send racing the close is refused
        told = 0
        if _server is not None:
            from config import ws_server

            told = ws_server.close_sockets(_server)
        if generation is not None:
            await _finish_answers(generation, told, deadline)
        for hook in after_answers:
            try:
                await hook()
            except Exception:
                log.exception("a drain hook failed")
        await _responses_done(RESPONSES_GRACE)
    except Exception:
        log.exception("draining failed; stopping anyway")
    finally:
        log.warning("drained: exiting")
        (stop or _stop_reactor)()


async def _finish_answers(generation, told: int, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    log.warning("SIGTERM: draining; %d socket(s) told to reconnect, %d answer(s) running, "
                "waiting up to %g s for them", told, generation.running_count(), settings.CHAT_DRAIN_SECONDS)
    # An answer whose send passed the check just before the drain began starts later.
    while generation.running_count() and (left := deadline - loop.time()) > 0:
        await generation.wait_all(timeout=left)
    if generation.running_count():
        interrupted = await generation.interrupt_all(timeout=RESPONSES_GRACE)
        log.warning("drain time over: %d answer(s) stored interrupted with their text", interrupted)


def _stop_reactor() -> None:
    from twisted.internet import reactor

    if reactor.running:
        reactor.stop()  # Daphne then cancels whatever application is left, and exits


async def _responses_done(timeout: float) -> None:
    """Wait until no connection's application runs (SSE streams ended, sockets closed)."""
    if _server is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and any(
        (app := details.get("application_instance")) is not None and not app.done()
        for details in list(_server.connections.values())
    ):
        await asyncio.sleep(0.05)
