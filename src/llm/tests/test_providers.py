"""Providers against a real HTTP server on loopback: the real LangChain/OpenAI client, nothing patched."""

import asyncio
import socket
import time
from contextlib import aclosing

import pytest

from llm import Chunk, LLMConfig, UpstreamError, Usage, get_provider
from llm.base import ConfigurationError
from llm.registry import config_from_settings, provider_from_settings
from tests.fake_upstream import Scenario

# The root conftest may load these as a plugin too; a second session server is harmless.
from tests.fixtures_upstream import fake_upstream, upstream  # noqa: F401

MESSAGES = [
    ("system", "You are terse."),
    ("user", "What is 2+2?"),
    ("assistant", "4."),
    ("user", "And 3+3?"),
]


def config(upstream, provider="openai", **options) -> LLMConfig:
    options = {"max_retries": 0, "timeout": 5.0, **options}
    return LLMConfig(provider=provider, base_url=upstream.base_url, **options)


async def collect(provider, messages=MESSAGES) -> list:
    async with aclosing(provider.stream(messages)) as answer:
        return [item async for item in answer]


async def collect_until_error(provider, messages=MESSAGES) -> tuple[list, UpstreamError]:
    received = []
    with pytest.raises(UpstreamError) as error:
        async with aclosing(provider.stream(messages)) as answer:
            async for item in answer:
                received.append(item)
    return received, error.value


def text(items, part="content") -> str:
    return "".join(item.text for item in items if isinstance(item, Chunk) and item.part == part)


async def test_openai_streams_content_in_order_and_reports_usage(upstream):
    upstream.enqueue(Scenario.words("Six, of course.", usage=(31, 4)))
    provider = get_provider(config(upstream, model="test-model"))

    items = await collect(provider)

    assert [item.text for item in items[:-1]] == ["Six,", " of", " course."]
    assert all(item.part == "content" for item in items[:-1])
    assert items[-1] == Usage(input_tokens=31, output_tokens=4)
    assert provider.name == "openai" and provider.model == "test-model"


async def test_request_carries_model_usage_option_extra_body_and_context(upstream):
    extra = {"web_search": {"enabled": True}, "top_k": 3}
    provider = get_provider(config(upstream, model="m-1", extra_body=extra))

    await collect(provider)

    [request] = upstream.requests
    assert request["model"] == "m-1"
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}
    assert request["web_search"] == {"enabled": True} and request["top_k"] == 3
    assert [(m["role"], m["content"]) for m in request["messages"]] == MESSAGES


async def test_default_models(upstream):
    assert get_provider(config(upstream)).model == "gpt-4o-mini"
    assert get_provider(config(upstream, provider="deepseek")).model == "deepseek-reasoner"


async def test_deepseek_streams_reasoning_then_content(upstream):
    upstream.enqueue(Scenario.words("Six.", reasoning=["Three", " plus", " three."], usage=(20, 5)))
    provider = get_provider(config(upstream, provider="deepseek", model="r1", extra_body={"thinking": True}))

    items = await collect(provider)

    assert [(item.part, item.text) for item in items[:-1]] == [
        ("reasoning", "Three"),
        ("reasoning", " plus"),
        ("reasoning", " three."),
        ("content", "Six."),
    ]
    assert items[-1] == Usage(input_tokens=20, output_tokens=5)
    [request] = upstream.requests
    assert request["model"] == "r1" and request["thinking"] is True
    assert request["stream_options"] == {"include_usage": True}


async def test_no_usage_when_upstream_reports_none(upstream):
    upstream.enqueue(Scenario.words("Hi there", usage=None))
    items = await collect(get_provider(config(upstream)))
    assert not any(isinstance(item, Usage) for item in items)
    assert text(items) == "Hi there"


@pytest.mark.parametrize("provider_name", ["openai", "deepseek"])
async def test_http_500_is_a_readable_upstream_error(upstream, provider_name):
    upstream.enqueue(Scenario(status=500, error_message="boom"))
    items, error = await collect_until_error(get_provider(config(upstream, provider=provider_name)))
    assert items == []
    assert "HTTP 500" in str(error)
    assert "Traceback" not in str(error)


async def test_http_429_after_retries_is_a_readable_upstream_error(upstream):
    upstream.enqueue(*[Scenario(status=429, error_message="Slow down")] * 3)
    started = time.monotonic()
    _, error = await collect_until_error(get_provider(config(upstream, max_retries=2)))
    assert "HTTP 429" in str(error) and "rate limit" in str(error)
    assert len(upstream.requests) == 3  # the first try and two retries
    assert time.monotonic() - started < 2  # retry-after-ms from the server keeps it quick


async def test_http_401_points_at_the_api_key(upstream):
    upstream.enqueue(Scenario(status=401, error_message="Incorrect API key provided"))
    _, error = await collect_until_error(get_provider(config(upstream, api_key="sk-wrong")))
    assert "HTTP 401" in str(error) and "LLM_API_KEY" in str(error)


async def test_a_500_then_success_succeeds_with_a_retry(upstream):
    upstream.enqueue(Scenario(status=500), Scenario.words("Recovered."))
    items = await collect(get_provider(config(upstream, max_retries=1)))
    assert text(items) == "Recovered."
    assert len(upstream.requests) == 2


@pytest.mark.parametrize("provider_name", ["openai", "deepseek"])
async def test_dropped_connection_mid_stream_errors_after_the_chunks_received(upstream, provider_name):
    upstream.enqueue(Scenario.words("one two three four five", drop_after=2))
    items, error = await collect_until_error(get_provider(config(upstream, provider=provider_name, max_retries=2)))
    assert text(items) == "one two"
    assert "lost" in str(error)
    assert len(upstream.requests) == 1  # nothing is retried once the answer has started


@pytest.mark.parametrize("provider_name", ["openai", "deepseek"])
async def test_malformed_chunk_is_an_upstream_error(upstream, provider_name):
    upstream.enqueue(Scenario.words("one two three", malformed_after=1))
    items, error = await collect_until_error(get_provider(config(upstream, provider=provider_name)))
    assert text(items) == "one"
    assert "malformed" in str(error)


async def test_hang_is_an_upstream_error_after_the_timeout(upstream):
    upstream.enqueue(Scenario.words("one two three", hang_after=2))
    started = time.monotonic()
    items, error = await collect_until_error(get_provider(config(upstream, timeout=0.5)))
    elapsed = time.monotonic() - started
    assert text(items) == "one two"
    assert "stopped responding" in str(error)
    assert 0.4 < elapsed < 3
    assert await upstream.async_wait_for_client_close(1.0)


async def test_unreachable_server_is_an_upstream_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = get_provider(LLMConfig("openai", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0))
    _, error = await collect_until_error(provider)
    assert "Could not connect" in str(error)


async def test_closing_the_stream_closes_the_upstream_request(upstream):
    upstream.enqueue(Scenario.words("word " * 200, delay=0.02))
    provider = get_provider(config(upstream))
    received = []
    async with aclosing(provider.stream(MESSAGES)) as answer:
        async for item in answer:
            received.append(item)
            if len(received) == 3:
                break
    assert await upstream.async_wait_for_client_close(1.0)


@pytest.mark.parametrize("provider_name", ["openai", "deepseek"])
async def test_cancelling_the_task_closes_the_upstream_request(upstream, provider_name):
    upstream.enqueue(Scenario.words("word " * 1000, delay=0.02))  # 20 s: closed early means closed by us
    provider = get_provider(config(upstream, provider=provider_name))
    received = []

    async def consume():
        async with aclosing(provider.stream(MESSAGES)) as answer:
            async for item in answer:
                received.append(item)

    task = asyncio.create_task(consume())
    while len(received) < 3:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await upstream.async_wait_for_client_close(5.0)  # a loaded machine can take over 1 s


async def test_many_concurrent_streams(upstream):
    upstream.default = Scenario.words("a b c d e f g h", delay=0.01)
    provider = get_provider(config(upstream))
    answers = await asyncio.gather(*(collect(provider) for _ in range(20)))
    assert all(text(items) == "a b c d e f g h" for items in answers)
    assert len(upstream.requests) == 20 and not upstream.closed_early


async def test_demo_streams_markdown_with_reasoning_and_usage():
    provider = get_provider(LLMConfig("demo", demo_delay=0))
    items = await collect(provider, [("user", "How do I sort a list?\nIn Python please.")])

    assert provider.name == "demo" and provider.model == "demo"
    reasoning, content = text(items, "reasoning"), text(items, "content")
    assert reasoning and reasoning.count(".") <= 3
    assert items[0].part == "reasoning" and isinstance(items[-1], Usage)
    assert sum(isinstance(item, Usage) for item in items) == 1
    assert all(item.text for item in items if isinstance(item, Chunk))
    assert "How do I sort a list?" in content and "In Python please" not in content
    for markdown in ("## ", "\n- ", "| --- |", "```"):
        assert markdown in content
    for setting in ("LLM_PROVIDER", "LLM_API_KEY", "LLM_BASE_URL"):
        assert setting in content
    # It says to restart the way the README does; bare `daphne` fails as printed (no src/ on
    # the path, no secret key).
    assert "bin/run" in content and "daphne" not in content
    assert items[-1].output_tokens > 50


def test_unknown_provider_fails_loudly():
    with pytest.raises(ValueError, match="known providers: deepseek, demo, openai"):
        get_provider(LLMConfig("nope"))


@pytest.mark.parametrize("provider_name", ["openai", "deepseek"])
def test_a_real_provider_without_key_or_base_url_is_a_configuration_error(provider_name):
    with pytest.raises(ConfigurationError, match="LLM_API_KEY"):
        get_provider(LLMConfig(provider_name))


def test_providers_are_cached_per_config(upstream):
    first = get_provider(config(upstream, extra_body={"a": 1, "b": [1, 2]}))
    assert get_provider(config(upstream, extra_body={"b": [1, 2], "a": 1})) is first
    assert get_provider(config(upstream, extra_body={"a": 2})) is not first


def test_provider_from_settings():
    from django.conf import settings
    from django.test import override_settings

    if not settings.configured:  # running with -p no:django
        settings.configure()
    with override_settings(
        LLM_PROVIDER="demo", LLM_MODEL=None, LLM_EXTRA_BODY={"x": 1}, LLM_TIMEOUT=7, LLM_DEMO_DELAY=0
    ):
        assert config_from_settings() == LLMConfig(
            "demo", extra_body={"x": 1}, timeout=7.0, max_retries=2, demo_delay=0.0
        )
        assert provider_from_settings().name == "demo"


# --- an upstream that accepts and then says nothing (issue 7, item 6) ----------------------------
async def test_silent_upstream_fails_after_the_first_token_timeout_without_retrying(upstream):
    """Not (retries + 1) x LLM_TIMEOUT: one wall-clock limit to the first token, retries included."""
    upstream.enqueue(*(Scenario(silent=True) for _ in range(3)))
    provider = get_provider(config(upstream, timeout=60.0, max_retries=2, first_token_timeout=0.5))
    _, error = await collect_until_error(provider)
    assert str(error) == "The model server sent no answer within 0.5 s (LLM_FIRST_TOKEN_TIMEOUT)."
    assert len(upstream.requests) == 1  # the SDK did not retry a timed-out attempt
    assert await upstream.async_wait_for_client_close(2.0)  # and the request was closed


async def test_headers_then_nothing_is_the_first_token_timeout(upstream):
    upstream.enqueue(Scenario(hang_after=0))
    provider = get_provider(config(upstream, timeout=60.0, max_retries=2, first_token_timeout=0.5))
    _, error = await collect_until_error(provider)
    assert "0.5 s (LLM_FIRST_TOKEN_TIMEOUT)" in str(error)
    assert len(upstream.requests) == 1


async def test_an_empty_first_chunk_is_not_a_first_token(upstream):
    """A role-only chunk then silence: still waiting for the first token, not idling."""
    upstream.enqueue(Scenario(content=["", "late"], hang_after=1))
    provider = get_provider(config(upstream, timeout=60.0, first_token_timeout=0.5, idle_timeout=30.0))
    items, error = await collect_until_error(provider)
    assert items == []
    assert "0.5 s (LLM_FIRST_TOKEN_TIMEOUT)" in str(error)


@pytest.mark.parametrize("provider_name", ["openai", "deepseek"])
async def test_silence_mid_answer_is_the_idle_timeout_and_keeps_the_text(upstream, provider_name):
    upstream.enqueue(Scenario.words("one two three", hang_after=2))
    provider = get_provider(config(upstream, provider_name, timeout=60.0, first_token_timeout=30.0,
                                   idle_timeout=0.5))
    items, error = await collect_until_error(provider)
    assert text(items) == "one two"
    assert str(error) == "The model server stopped mid-answer: nothing received for 0.5 s (LLM_IDLE_TIMEOUT)."
    assert await upstream.async_wait_for_client_close(2.0)


async def test_slow_but_steady_answers_are_not_cut_by_the_first_token_limit(upstream):
    """The first-token limit stops counting once text flows; each gap is under the idle limit."""
    upstream.enqueue(Scenario.words("a b c d e f", delay=0.2))
    provider = get_provider(config(upstream, first_token_timeout=0.5, idle_timeout=5.0))
    assert text(await collect(provider)) == "a b c d e f"


def test_timeouts_come_from_settings(settings):
    settings.LLM_FIRST_TOKEN_TIMEOUT = 12
    settings.LLM_IDLE_TIMEOUT = 3.5
    found = config_from_settings()
    assert (found.first_token_timeout, found.idle_timeout) == (12.0, 3.5)
