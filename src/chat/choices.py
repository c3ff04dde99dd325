"""A conversation's settings (model, system prompt, temperature) and a user's last choice.

Sync, called inside the services' transactions: a refusal (UnknownModel) rolls back
whatever the transaction stored. A new chat takes the user's last choice (ChatPreference),
which every explicit choice updates; a model the catalogue no longer offers is refused
when chosen, and a conversation that keeps one refuses to answer until another is picked.
"""
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from llm import catalogue

from .models import ChatPreference, Conversation

FIELDS = ("model", "system_prompt", "temperature")


def check_offered(chosen: dict) -> None:
    """Raise catalogue.UnknownModel when `chosen` names a model that is not offered.
    (Builds the catalogue, and with it every model's provider, on first use.)"""
    catalogue.catalogue()
    if "model" in chosen:
        catalogue.resolve(chosen["model"])


def settle_new(conversation: Conversation, *, user, chosen: dict, last: dict | None = None) -> None:
    """Give a conversation being created the user's last choice (`last`, when the caller
    read it already: chat.sending reads it in its first hop, outside the send's lock), overlaid
    with `chosen`; a remembered model no longer offered gives way to the default."""
    last = last if last is not None else last_choice(user=user)
    conversation.model, conversation.system_prompt = last["model"], last["system_prompt"]
    conversation.temperature = last["temperature"]
    _overlay(conversation, chosen)
    if chosen:
        remember(user=user, conversation=conversation)


def settle_existing(conversation: Conversation, *, user, chosen: dict) -> list[str]:
    """Apply `chosen` to an existing conversation (not saved); the fields that changed.
    The user's last choice follows."""
    changed = _overlay(conversation, chosen)
    if chosen:
        remember(user=user, conversation=conversation)
    return changed


def _overlay(conversation: Conversation, chosen: dict) -> list[str]:
    if "model" in chosen:
        catalogue.resolve(chosen["model"])
    changed = []
    for name in FIELDS:
        if name in chosen and getattr(conversation, name) != chosen[name]:
            setattr(conversation, name, chosen[name])
            changed.append(name)
    return changed


def remember(*, user, conversation: Conversation) -> None:
    """The conversation's settings become the user's last choice.

    One upsert: inside a send's pipelined transaction (services._stored_together) nothing may
    read a count of rows updated, as update_or_create() does."""
    ChatPreference.objects.bulk_create(
        [ChatPreference(user=user, model=conversation.model, system_prompt=conversation.system_prompt,
                        temperature=conversation.temperature, updated_at=timezone.now())],
        update_conflicts=True, unique_fields=["user"], update_fields=list(FIELDS) + ["updated_at"],
    )


def answer_model(conversation: Conversation) -> str:
    """The catalogue id that answers in this conversation; UnknownModel if withdrawn."""
    return catalogue.resolve(conversation.model).id


def system_prompt(own: str = "") -> str:
    """CHAT_SYSTEM_PROMPT (the operator's), then the conversation's `own`, in one system
    message: a user's prompt extends the operator's, it does not replace it."""
    return "\n\n".join(part for part in (settings.CHAT_SYSTEM_PROMPT, own) if part and part.strip())


def last_choice(*, user) -> dict:
    """What a new chat of `user` gets: {model, system_prompt, temperature}."""
    last = ChatPreference.objects.filter(user=user).first()
    model = last.model if last is not None and catalogue.offered(last.model) else ""
    return {"model": model or catalogue.default_entry().id,
            "system_prompt": last.system_prompt if last else "",
            "temperature": last.temperature if last else None}


def conversation_settings_update(*, user, conversation_id, chosen: dict) -> Conversation | None:
    """Change an owned conversation's settings (PATCH); None when the user has no such
    conversation. Raises UnknownModel with nothing changed."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().filter(id=conversation_id, owner=user).first()
        if conversation is None:
            return None
        changed = settle_existing(conversation, user=user, chosen=chosen)
        if changed:
            conversation.save(update_fields=changed)
    return conversation
