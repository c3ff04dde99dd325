"""The models users may pick: the operator's LLM_MODELS, or the LLM_* settings as one entry.

    entry = resolve("demo-terse")       # UnknownModel when not offered (any more)
    provider = get_provider(entry.config)

An entry's `id` is what a conversation stores and what a message records as its `model`;
it defaults to the upstream model name. The first entry is the default for a user who has
not picked one. Out of the box (demo provider, no LLM_MODELS) two demo models are offered,
so the picker has something to pick.
"""
from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, replace

from .base import ConfigurationError, LLMConfig

TEMPERATURE_MAX = 2.0
# Entries' fields in LLM_MODELS; anything else refuses to start (a typo would go unnoticed).
ENTRY_FIELDS = {"id", "label", "provider", "model", "base_url", "api_key", "extra_body"}


class UnknownModel(LookupError):
    """A model id the catalogue does not offer (a typo, or withdrawn by the operator)."""

    def __init__(self, model_id: str):
        super().__init__(model_id)
        self.model_id = model_id

    def __str__(self) -> str:
        return f"The model {self.model_id[:100]!r} is not offered on this server; pick another."


@dataclass(frozen=True)
class ModelEntry:
    id: str
    label: str
    config: LLMConfig


def parse_models(value: object) -> list[dict] | None:
    """LLM_MODELS as the environment gives it (JSON text) -> a checked list of entries.

    Raises ValueError with a readable reason; settings.py turns it into ImproperlyConfigured.
    """
    if value in (None, ""):
        return None
    entries = json.loads(value) if isinstance(value, str) else value
    if not isinstance(entries, list) or not entries:
        raise ValueError("LLM_MODELS must be a non-empty JSON list of objects.")
    seen = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ValueError(f"LLM_MODELS[{index}] must be an object.")
        unknown = set(entry) - ENTRY_FIELDS
        if unknown:
            raise ValueError(f"LLM_MODELS[{index}] has unknown field(s): {', '.join(sorted(unknown))}.")
        for name in ("label", "provider"):
            if not isinstance(entry.get(name), str) or not entry[name].strip():
                raise ValueError(f"LLM_MODELS[{index}] needs a non-empty string {name!r}.")
        for name in ("id", "model", "base_url", "api_key"):
            if entry.get(name) is not None and not isinstance(entry[name], str):
                raise ValueError(f"LLM_MODELS[{index}].{name} must be a string.")
        if entry.get("extra_body") is not None and not isinstance(entry["extra_body"], dict):
            raise ValueError(f"LLM_MODELS[{index}].extra_body must be an object.")
        ident = _entry_id(entry)
        if not ident or len(ident) > 200:
            raise ValueError(f"LLM_MODELS[{index}] needs an 'id' (or a 'model') of 1 to 200 characters.")
        if ident in seen:
            raise ValueError(f"LLM_MODELS has two entries with the id {ident!r}; give them distinct ids.")
        seen.add(ident)
    return entries


def _entry_id(entry: dict) -> str:
    return entry.get("id") or entry.get("model") or entry["provider"]


def normalize_temperature(value: object) -> float | None:
    """None (the model's default) or a number in 0..2, kept to 0.1 steps; ValueError else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("temperature must be a number or null.")
    if not 0 <= value <= TEMPERATURE_MAX:
        raise ValueError(f"temperature must be between 0 and {TEMPERATURE_MAX:g}.")
    return round(value, 1)


_cache: dict[tuple, dict[str, ModelEntry]] = {}
_lock = threading.Lock()


def catalogue() -> dict[str, ModelEntry]:
    """The entries offered now, by id, in the operator's order (the first is the default).

    Built once per distinct configuration (tests change settings on the fly).
    """
    from django.conf import settings

    from .registry import config_from_settings

    base = config_from_settings()
    models = getattr(settings, "LLM_MODELS", None)
    key = (base.cache_key(), json.dumps(models, sort_keys=True, default=str))
    with _lock:
        if (entries := _cache.get(key)) is None:
            entries = _build(base, models)
            # Every entry's provider is built now (registry cache): a misconfigured entry
            # (unknown provider, no key) fails here, before a send stores anything.
            from .registry import get_provider

            for entry in entries.values():
                get_provider(entry.config)
            _cache[key] = entries
    return entries


def provider(entry: ModelEntry):
    """The entry's provider (built once per config by llm.registry)."""
    from .registry import get_provider

    return get_provider(entry.config)


def _build(base: LLMConfig, models: list[dict] | None) -> dict[str, ModelEntry]:
    if models:
        built = []
        for entry in parse_models(models):
            config = replace(base, provider=entry["provider"], model=entry.get("model") or None,
                             base_url=entry.get("base_url") or None, api_key=entry.get("api_key") or None,
                             extra_body=entry.get("extra_body") or None)
            built.append(ModelEntry(_entry_id(entry), entry["label"], config))
    elif base.provider == "demo" and not base.model:
        built = [ModelEntry("demo", "Demo", replace(base, model="demo")),
                 ModelEntry("demo-terse", "Demo (terse)", replace(base, model="demo-terse"))]
    else:
        from .registry import get_provider

        ident = base.model or get_provider(base).model  # the provider's default model name
        built = [ModelEntry(ident, base.model or ident, base)]
    return {entry.id: entry for entry in built}


def default_entry() -> ModelEntry:
    return next(iter(catalogue().values()))


def resolve(model_id: str | None) -> ModelEntry:
    """The entry of `model_id`; "" or None is the default. Raises UnknownModel."""
    if not model_id:
        return default_entry()
    try:
        return catalogue()[model_id]
    except KeyError:
        raise UnknownModel(model_id) from None


def offered(model_id: str | None) -> bool:
    return not model_id or model_id in catalogue()


__all__ = ["ConfigurationError", "ModelEntry", "UnknownModel", "catalogue", "default_entry",
           "normalize_temperature", "offered", "parse_models", "provider", "resolve"]
