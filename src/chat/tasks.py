"""Tasks that outlive whatever started them (a request, a socket, a send)."""
import asyncio
import contextvars


def detached(coro, *, name: str | None = None) -> asyncio.Task:
    """A task in a fresh context, for work that outlives the request that started it.

    WhiteNoiseMiddleware is sync-only, so Django runs the rest of the chain (and the view)
    inside async_to_sync; a task created there would inherit that call's
    CurrentThreadExecutor, which is gone once the request is answered, and its next
    database_sync_to_async would fail ("CurrentThreadExecutor already quit").
    """
    return asyncio.get_running_loop().create_task(coro, name=name, context=contextvars.Context())
