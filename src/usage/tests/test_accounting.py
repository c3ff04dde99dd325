"""Usage of real answers (the loopback fake upstream, through the socket): with the
upstream's usage, and counted here without it; prices; the user's own figures."""
import asyncio
import uuid
from decimal import Decimal

import pytest
from django.test import AsyncClient
from django.utils import timezone

from chat.generation import wait_all
from chat.tests.ws import open_chat, until_done
from llm import tokens
from tests.fake_upstream import Scenario
from usage import selectors
from usage.models import DailyUsage, ModelPrice

pytestmark = pytest.mark.django_db(transaction=True)


async def ask(cookie, content: str) -> dict:
    socket, _ = await open_chat(cookie, uuid.uuid4())
    await socket.send_json_to({"type": "message.send", "content": content})
    done = (await until_done(socket))[-1]["message"]
    await socket.disconnect()
    return done


async def usage_row(user, answers: int) -> DailyUsage:
    await wait_all()
    async with asyncio.timeout(5):
        while not await DailyUsage.objects.filter(user=user, answers=answers).aexists():
            await asyncio.sleep(0.02)
    return await DailyUsage.objects.aget(user=user)


async def test_the_upstreams_usage_is_recorded(chat_layer, llm, user, alice):
    llm.enqueue(Scenario(content=["a", "b"], usage=(120, 7)), Scenario(content=["c"], usage=(30, 3)))
    await ask(alice, "One?")
    await ask(alice, "Two?")
    row = await usage_row(user, 2)
    assert (row.model, row.day) == ("fake-model", timezone.now().date())
    assert (row.answers, row.input_tokens, row.output_tokens, row.counted_answers) == (2, 150, 10, 0)


async def test_without_upstream_usage_tokens_are_counted_and_said_so(chat_layer, llm, user, alice, settings):
    text = "Counted here, since the upstream says nothing about usage."
    llm.enqueue(Scenario.words(text, usage=None))
    done = await ask(alice, "Count me")
    assert done["usage"] is None
    row = await usage_row(user, 1)
    assert row.counted_answers == 1
    assert row.output_tokens == tokens.count(text)
    assert row.input_tokens == tokens.needed([("user", "Count me")])


async def test_a_failed_answer_counts_as_an_answer_without_tokens(chat_layer, llm, user, alice):
    llm.enqueue(Scenario(status=500, error_message="down", usage=None))
    done = await ask(alice, "Fail?")
    assert done["status"] == "error"
    row = await usage_row(user, 1)
    assert (row.input_tokens, row.output_tokens, row.counted_answers) == (0, 0, 1)


async def test_the_users_own_usage_and_cost(llm, user, alice):
    await ModelPrice.objects.acreate(model="fake-model", input_per_million=Decimal("2.50"),
                                     output_per_million=Decimal("10"))
    llm.enqueue(Scenario(content=["x"], usage=(1000, 200)))
    await ask(alice, "Price?")
    await usage_row(user, 1)
    today = timezone.now().date()
    await DailyUsage.objects.acreate(user=user, model="fake-model", day=today.replace(day=1) - timezone.timedelta(days=1),
                                     answers=5, input_tokens=10**6, output_tokens=10**6)
    if today.day > 1:
        await DailyUsage.objects.acreate(user=user, model="other", day=today.replace(day=1), answers=1,
                                         input_tokens=5, output_tokens=5)
    client = AsyncClient()
    await client.aforce_login(user)
    body = (await client.get("/api/usage/")).json()
    assert body["currency"] == "USD"
    assert body["today"] == {"answers": 1, "input_tokens": 1000, "output_tokens": 200, "counted_answers": 0,
                             "cost": "0.004500"}  # 1000 x 2.50/M + 200 x 10/M
    extra = 1 if today.day > 1 else 0
    assert body["month"]["answers"] == 1 + extra and body["month"]["cost"] == "0.004500"


def test_cost_of_a_model_without_a_price_is_zero():
    table = {"priced": (Decimal("3"), Decimal("15"))}
    assert selectors.cost("priced", 2_000_000, 1_000_000, table) == Decimal("21")
    assert selectors.cost("unpriced", 2_000_000, 1_000_000, table) == 0


async def test_a_draining_process_stores_the_usage_it_holds(llm, user, alice, settings, monkeypatch):
    from serving import drain

    monkeypatch.setattr(drain, "_draining", False)
    monkeypatch.setattr("chat.generation._accepting", True)  # the drain turns it off: restored after
    settings.USAGE_FLUSH_INTERVAL = 3600  # only the drain can store it in time
    llm.enqueue(Scenario(content=["x"], usage=(5, 6)))
    await ask(alice, "Before the SIGTERM")
    await wait_all()
    assert not await DailyUsage.objects.aexists()
    await drain.drain(stop=lambda: None)
    row = await DailyUsage.objects.aget(user=user)
    assert (row.answers, row.input_tokens, row.output_tokens) == (1, 5, 6)
