"""Checks other apps add before an answer starts (connected in their AppConfig.ready()).

Each check is awaited, in order, by every send and regenerate (socket and SSE alike), after
chat's own refusals (busy, rate limit) and before anything is stored; it refuses by raising
protocol.ProtocolError, which reaches the client as an `error` frame or HTTP error. Checks
must be quick: a send waits for them.
"""
from collections.abc import Awaitable, Callable

# check(user=..., client_id=...) -> None, or raises protocol.ProtocolError
AnswerCheck = Callable[..., Awaitable[None]]
answer_checks: list[AnswerCheck] = []


async def check_answer(*, user, client_id: str | None = None) -> None:
    for check in answer_checks:
        await check(user=user, client_id=client_id)
