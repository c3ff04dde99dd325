"""LLM providers: a plain package (not a Django app).

    async with aclosing(provider_from_settings().stream(messages)) as answer:
        async for item in answer:  # Chunk("content" | "reasoning", text) ..., then Usage
            ...
"""

from .base import Chunk, ConfigurationError, LLMConfig, Provider, UpstreamError, Usage
from .registry import PROVIDERS, config_from_settings, get_provider, provider_from_settings

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
