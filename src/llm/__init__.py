"""LLM providers: a plain package (not a Django app).

    async with aclosing(provider_from_settings().stream(messages)) as answer:
        async for item in answer:  # Chunk("content" | "reasoning", text) ..., then Usage
            ...
"""

from .base import Chunk, ConfigurationError, LLMConfig, Provider, UpstreamError, Usage

_FROM_REGISTRY = {"PROVIDERS", "config_from_settings", "get_provider", "provider_from_settings"}


def __getattr__(name: str):
    # The registry imports LangChain (about a second): loaded on first use, so the Django
    # settings can take their LLM_* defaults from LLMConfig without it.
    if name in _FROM_REGISTRY:
        from . import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'llm' has no attribute {name!r}")

__all__ = [
    "PROVIDERS",
    "Chunk",
    "ConfigurationError",
    "LLMConfig",
    "Provider",
    "UpstreamError",
    "Usage",
    "config_from_settings",
    "get_provider",
    "provider_from_settings",
]
