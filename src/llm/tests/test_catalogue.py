"""The model catalogue (LLM_MODELS), the temperature per request, the demo models and titles."""
from contextlib import aclosing

import pytest

from llm import Chunk, LLMConfig, get_provider
from llm.catalogue import UnknownModel, catalogue, normalize_temperature, parse_models, resolve
from llm.titles import TITLE_INSTRUCTION, ask_title, clean_title, title_request
from tests.fake_upstream import Scenario
from tests.fixtures_upstream import fake_upstream, upstream  # noqa: F401


def text(items) -> str:
    return "".join(item.text for item in items if isinstance(item, Chunk) and item.part == "content")


async def collect(provider, messages, **options) -> list:
    async with aclosing(provider.stream(messages, **options)) as answer:
        return [item async for item in answer]


def test_out_of_the_box_two_demo_models(settings):
    settings.LLM_PROVIDER, settings.LLM_MODEL, settings.LLM_MODELS = "demo", None, None
    entries = catalogue()
    assert [(e.id, e.label) for e in entries.values()] == [("demo", "Demo"), ("demo-terse", "Demo (terse)")]
    assert resolve("").id == resolve(None).id == "demo"


def test_without_llm_models_the_llm_settings_are_the_one_model(settings, upstream):
    settings.LLM_PROVIDER, settings.LLM_BASE_URL, settings.LLM_API_KEY = "openai", upstream.base_url, "k"
    settings.LLM_MODELS = None
    settings.LLM_MODEL = None
    assert [(e.id, e.label) for e in catalogue().values()] == [("gpt-4o-mini", "gpt-4o-mini")]
    settings.LLM_MODEL = "local-llama"
    (entry,) = catalogue().values()
    assert (entry.id, entry.config.base_url, entry.config.api_key) == ("local-llama", upstream.base_url, "k")


def test_llm_models_entries_keep_their_own_connection_and_inherit_timeouts(settings, upstream):
    settings.LLM_TIMEOUT = 7.0
    settings.LLM_MODELS = [
        {"label": "Local", "provider": "openai", "model": "llama", "base_url": upstream.base_url},
        {"id": "r1", "label": "Reasoner", "provider": "deepseek", "model": "deepseek-reasoner",
         "base_url": upstream.base_url, "api_key": "sk", "extra_body": {"thinking": True}},
    ]
    local, reasoner = catalogue().values()
    assert (local.id, local.config.model, local.config.api_key, local.config.timeout) == ("llama", "llama", None, 7.0)
    assert (reasoner.id, reasoner.config.provider, reasoner.config.extra_body) == ("r1", "deepseek", {"thinking": True})
    with pytest.raises(UnknownModel, match="'gpt-17' is not offered"):
        resolve("gpt-17")


@pytest.mark.parametrize("value, reason", [
    ("{}", "non-empty JSON list"),
    ("[]", "non-empty JSON list"),
    ('["x"]', "must be an object"),
    ('[{"provider": "demo"}]', "'label'"),
    ('[{"label": "A", "provider": "demo", "color": "red"}]', "unknown field"),
    ('[{"label": "A", "provider": "demo"}, {"label": "B", "provider": "demo"}]', "two entries"),
    ('[{"label": "A", "provider": "demo", "extra_body": 3}]', "extra_body"),
    ("not json", "Expecting value"),
])
def test_malformed_llm_models_refuse_to_start(value, reason):
    with pytest.raises(ValueError, match=reason):
        parse_models(value)


def test_a_misconfigured_entry_fails_when_the_catalogue_is_built(settings):
    settings.LLM_MODELS = [{"label": "Broken", "provider": "openai", "model": "x"}]  # no key, no base URL
    with pytest.raises(ValueError, match="LLM_API_KEY"):
        catalogue()


@pytest.mark.parametrize("value, expected", [(None, None), (0, 0.0), (0.74, 0.7), (2, 2.0), (1.05, 1.1)])
def test_temperature_is_kept_to_tenths(value, expected):
    assert normalize_temperature(value) == expected


@pytest.mark.parametrize("value", [-0.1, 2.01, float("nan"), float("inf"), "1", True])
def test_temperature_out_of_range_is_refused(value):
    with pytest.raises(ValueError):
        normalize_temperature(value)


async def test_temperature_goes_into_the_request_body_only(upstream):
    provider = get_provider(LLMConfig("openai", base_url=upstream.base_url, max_retries=0, timeout=5))
    await collect(provider, [("user", "hi")], temperature=0.3)
    await collect(provider, [("user", "hi")])
    assert upstream.requests[0]["temperature"] == 0.3
    assert "temperature" not in upstream.requests[1]


async def test_demo_terse_answers_differently_and_shows_its_settings():
    terse = get_provider(LLMConfig("demo", model="demo-terse", demo_delay=0))
    assert terse.model == "demo-terse"
    items = await collect(terse, [("system", "Be kind."), ("user", "Hi there")], temperature=0.5)
    assert text(items) == "Terse demo answer to “Hi there”. (system prompt: “Be kind.”; temperature 0.5)"
    full = text(await collect(get_provider(LLMConfig("demo", demo_delay=0)), [("user", "Hi there")]))
    assert full.startswith("## Demo answer")


async def test_title_requests_and_cleaning(upstream):
    assert title_request("Q", "A")[0] == ("system", TITLE_INSTRUCTION)
    demo = get_provider(LLMConfig("demo", demo_delay=0))
    assert await ask_title(demo, "How do I sort a list in Python", "Use sorted().") == "Demo: How do I sort a"
    upstream.enqueue(Scenario.words("Title: **Sorting lists in Python.**\nMore text"))
    provider = get_provider(LLMConfig("openai", base_url=upstream.base_url, max_retries=0, timeout=5))
    assert await ask_title(provider, "Q", "A") == "Sorting lists in Python"
    assert clean_title("x " * 50).endswith("…") and len(clean_title("x " * 50)) <= 61


async def test_a_title_is_read_to_its_first_line_only(upstream):
    upstream.enqueue(Scenario.words("Short title\n" + "and a long essay after it " * 200, delay=0.01))
    provider = get_provider(LLMConfig("openai", base_url=upstream.base_url, max_retries=0, timeout=5))
    assert await ask_title(provider, "Q", "A") == "Short title"
    assert await upstream.async_wait_for_client_close(timeout=2)  # the request was closed early
