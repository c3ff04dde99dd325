"""The user's own usage over the HTTP API (docs/api.md "Usage")."""
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone
from ninja import Router, Schema

from chat.api_schemas import ErrorOut

from . import selectors

router = Router(tags=["usage"])


class TotalsOut(Schema):
    answers: int
    input_tokens: int
    output_tokens: int
    counted_answers: int
    cost: str


class UsageOut(Schema):
    currency: str
    today: TotalsOut
    month: TotalsOut


@router.get("", response={200: UsageOut, 401: ErrorOut}, summary="Your usage today and this month (UTC)")
async def my_usage(request):
    today, month = await database_sync_to_async(selectors.user_usage)(
        user=request.auth, today=timezone.now().date())
    return {"currency": settings.USAGE_CURRENCY, "today": today.json(), "month": month.json()}
