"""Provider registry: a name → factory dict, and `get_provider` that fails loudly."""

from __future__ import annotations

import threading
from collections.abc import Callable

from .base import ConfigurationError, LLMConfig, Provider
from .deepseek_provider import DeepSeekProvider
from .demo import DemoProvider
from .openai_provider import OpenAIProvider

PROVIDERS: dict[str, Callable[[LLMConfig], Provider]] = {
    "demo": DemoProvider,
    "openai": OpenAIProvider,
    "deepseek": DeepSeekProvider,
}

_cache: dict[tuple, Provider] = {}
_lock = threading.Lock()


def get_provider(config: LLMConfig) -> Provider:
    """The provider for `config`, built once per distinct config.

    Raises `ConfigurationError` (a `ValueError`) naming the known providers on an unknown
    name, or when the config cannot work (e.g. no key and no base URL).
    """
    try:
        factory = PROVIDERS[config.provider]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigurationError(f"Unknown LLM provider {config.provider!r}; known providers: {known}.") from None
    key = config.cache_key()
    with _lock:
        if (provider := _cache.get(key)) is None:
            provider = _cache[key] = factory(config)
    return provider


def config_from_settings() -> LLMConfig:
    """An LLMConfig from Django settings (LLM_* names; defaults when a name is missing)."""
    from django.conf import settings

    defaults = LLMConfig(provider="demo")
    return LLMConfig(
        provider=getattr(settings, "LLM_PROVIDER", None) or defaults.provider,
        model=getattr(settings, "LLM_MODEL", None) or None,
        base_url=getattr(settings, "LLM_BASE_URL", None) or None,
        api_key=getattr(settings, "LLM_API_KEY", None) or None,
        extra_body=getattr(settings, "LLM_EXTRA_BODY", None) or None,
        timeout=float(getattr(settings, "LLM_TIMEOUT", None) or defaults.timeout),
        max_retries=int(_or_default(getattr(settings, "LLM_MAX_RETRIES", None), defaults.max_retries)),
        first_token_timeout=float(
            getattr(settings, "LLM_FIRST_TOKEN_TIMEOUT", None) or defaults.first_token_timeout
        ),
        idle_timeout=float(getattr(settings, "LLM_IDLE_TIMEOUT", None) or defaults.idle_timeout),
        demo_delay=float(_or_default(getattr(settings, "LLM_DEMO_DELAY", None), defaults.demo_delay)),
    )


def provider_from_settings() -> Provider:
    """The provider the Django settings describe."""
    return get_provider(config_from_settings())


def _or_default(value, default):
    return default if value is None else value
