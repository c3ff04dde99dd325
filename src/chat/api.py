"""The HTTP API (contract: "HTTP API"): the NinjaAPI instance, session auth with CSRF,
and errors as `{"error": {"code", "message"}}` whatever raised them.

Routes live in api_conversations (history, rename, delete, export) and api_sse
(answers over server-sent events, stop). Documented in docs/api.md.
"""
import logging

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from llm import catalogue

from . import api_conversations, api_sse, choices, protocol, services
from .api_errors import PROTOCOL_STATUS, STATUS_CODES, ApiError, error_response, not_found
from .api_schemas import ErrorOut, MeOut, ModelsOut

log = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class SessionAuth(APIKeyCookie):
    """Django's session; unsafe methods also need the CSRF token (`X-CSRFToken`).

    Unlike ninja's django_auth, an anonymous request is a 401 even without a token.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self):
        super().__init__(csrf=False)  # checked below, after authentication

    def authenticate(self, request, key):
        user = request.user
        if not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS:
            try:
                refused = check_csrf(request)
            except MultiPartParserError:  # Django reads a form body for the token first
                raise ApiError(400, "bad_request", "The request body cannot be parsed.") from None
            if refused is not None:
                raise ApiError(403, "csrf_failed", "CSRF token missing or incorrect: send it in X-CSRFToken.")
        return user


api = NinjaAPI(
    title="Chat API",
    version="1",
    description="Conversations, search, export, and answers over server-sent events. See docs/api.md.",
    auth=SessionAuth(),
    urls_namespace="api",
)


# --- errors -----------------------------------------------------------------------------------
@api.exception_handler(ApiError)
def _api_error(request, exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, retry_after=exc.retry_after)


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(413, protocol.TOO_LARGE,
                          f"The request body is larger than the server takes ({limit:,} bytes).")


@api.exception_handler(protocol.ProtocolError)
def _protocol_error(request, exc: protocol.ProtocolError):
    status = exc.http_status or PROTOCOL_STATUS.get(exc.code, 400)
    return error_response(status, exc.code, exc.message, retry_after=exc.retry_after, extra=exc.details)


@api.exception_handler(services.NotOwner)
def _not_owner(request, exc):
    return _api_error(request, not_found())


@api.exception_handler(Http404)
def _http404(request, exc):
    return error_response(404, "not_found", "Not found.")


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return error_response(401, "unauthenticated", "Log in first: this API uses the session cookie.")


@api.exception_handler(ValidationError)
def _invalid(request, exc: ValidationError):
    details = [_detail(error) for error in exc.errors]
    if details and all(d["loc"][:1] == ["path"] for d in details):
        return error_response(404, "not_found", "Not found.")  # e.g. a conversation id that is no UUID
    first = details[0] if details else None
    message = "Invalid input."
    if first is not None:
        field = ".".join(p for p in first["loc"][1:] if p != "body") or first["loc"][0]
        message = f"Invalid {field}: {first['msg'].removeprefix('Value error, ')}."
    return error_response(422, "invalid", message, details=details)


def _detail(error: dict) -> dict:
    return {"loc": [str(p) for p in error.get("loc", [])], "msg": str(error.get("msg", "")),
            "type": str(error.get("type", ""))}


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    status = exc.status_code
    return error_response(status, STATUS_CODES.get(status, f"http_{status}"), str(exc))


@api.exception_handler(Exception)
def _internal(request, exc):
    log.exception("API request failed: %s %s", request.method, request.path)
    return error_response(500, protocol.INTERNAL, "Something went wrong on the server.")


@api.get("/me/", response={200: MeOut, 401: ErrorOut}, tags=["session"],
         summary="Who is logged in (an addition to the contract)")
async def me(request):
    return {"username": request.auth.get_username()}


@api.get("/models/", response={200: ModelsOut, 401: ErrorOut}, tags=["session"],
         summary="The models users may pick, and what a new chat takes (an addition to the contract)")
async def models(request):
    entries = catalogue.catalogue()
    default = await database_sync_to_async(choices.last_choice)(user=request.auth)
    return {"models": [{"id": e.id, "label": e.label} for e in entries.values()], "default": default}


api.add_router("/conversations/", api_conversations.router)
api.add_router("/conversations/", api_sse.router)
