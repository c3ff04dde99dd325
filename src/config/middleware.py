"""Project-wide middleware."""
from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

from chat.api_errors import STATUS_CODES, error_response


def _json_405(request, response):
    # django-ninja answers a wrong method with a plain-text 405; the API speaks JSON only.
    if (response.status_code == 405 and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")):
        json = error_response(405, STATUS_CODES[405], f"{request.method} is not allowed here.")
        if response.has_header("Allow"):
            json["Allow"] = response["Allow"]
        return json
    return response


@sync_and_async_middleware
def api_method_not_allowed_as_json(get_response):
    if iscoroutinefunction(get_response):
        async def middleware(request):
            return _json_405(request, await get_response(request))
    else:
        def middleware(request):
            return _json_405(request, get_response(request))
    return middleware
