"""Tasks that outlive whatever started them (a request, a socket, a send)."""
import asyncio
import contextvars
import weakref


def detached(coro, *, name: str | None = None) -> asyncio.Task:
    """A task in a fresh context, for work that outlives the request that started it.

    WhiteNoiseMiddleware is sync-only, so Django runs the rest of the chain (and the view)
    inside async_to_sync; a task created there would inherit that call's
    CurrentThreadExecutor, which is gone once the request is answered, and its next
    database_sync_to_async would fail ("CurrentThreadExecutor already quit").
    """
    return asyncio.get_running_loop().create_task(coro, name=name, context=contextvars.Context())


class EveryAnswer:
    """Work done every `interval()` seconds for all answers an event loop runs, by one task
    that starts with the first answer tracked and ends with the last one forgotten: one call
    for them all instead of one per answer (subclasses: chat.partials, chat.beats)."""

    name = "every-answer"

    def __init__(self):
        self.answers: dict = {}  # answer id -> generation.Answer
        self.task: asyncio.Task | None = None
        self.sleeping = False

    def interval(self) -> float:
        raise NotImplementedError

    async def tick(self) -> None:
        raise NotImplementedError

    def track(self, answer) -> None:
        self.answers[answer.id] = answer
        if self.task is None or self.task.done():
            self.task = detached(self._run(), name=self.name)

    def forget(self, answer) -> None:
        self.answers.pop(answer.id, None)
        if not self.answers and self.task is not None and self.sleeping:
            self.task.cancel()  # nothing left: no task outlives the last answer

    async def _run(self) -> None:
        while self.answers:
            self.sleeping = True
            try:
                await asyncio.sleep(self.interval())
            finally:
                self.sleeping = False
            await self.tick()


def per_loop(factory):
    """`factory()` once per event loop (one per process under Daphne): what it builds may
    hold tasks and connections of that loop."""
    made: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = weakref.WeakKeyDictionary()

    def get():
        loop = asyncio.get_running_loop()
        if (found := made.get(loop)) is None:
            found = made[loop] = factory()
        return found
    return get
