"""Errors of the HTTP API: one JSON shape, `{"error": {"code", "message"}}`, whatever raised them."""
from django.http import JsonResponse

from . import protocol

# HTTP status of each refusal code of chat.protocol (the socket's `error` frame codes).
PROTOCOL_STATUS = {
    protocol.BAD_REQUEST: 400,
    protocol.TOO_LONG: 422,
    protocol.BUSY: 409,
    protocol.RATE_LIMITED: 429,
    protocol.TOO_MANY_ANSWERS: 429,
    protocol.INTERNAL: 500,
    protocol.TOO_LARGE: 413,
    protocol.UNAVAILABLE: 503,
    protocol.UNKNOWN_MODEL: 422,
}
STATUS_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "busy", 413: protocol.TOO_LARGE, 422: "invalid", 429: "rate_limited",
                503: protocol.UNAVAILABLE}


class ApiError(Exception):
    """A refusal with its HTTP status and stable error code."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def error_response(status: int, code: str, message: str, *, details: list | None = None,
                   retry_after: float | None = None, extra: dict | None = None) -> JsonResponse:
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    if extra:
        error.update({key: value for key, value in extra.items() if key not in error})
    response = JsonResponse({"error": error}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(max(1, round(retry_after + 0.49)))  # whole seconds, rounded up
    return response


def not_found() -> ApiError:
    # Another user's conversation is indistinguishable from a missing one: never 403.
    return ApiError(404, "not_found", "No such conversation.")
