/**
 * A conversation's settings on the client: which model, system prompt and temperature
 * apply, pure functions of the conversation (server state), the catalogue
 * (GET /api/models/) and, before a new chat exists, the choice made for it.
 */
import type { Conversation, ConversationSettings, ModelCatalogue } from '../../lib/protocol';

export const TEMPERATURE_MAX = 2;

/**
 * What applies now: an existing conversation's own settings (its null model is the
 * catalogue's default), else the choice made for the new chat, else the user's last
 * choice as the server reported it. Null while nothing is known yet.
 */
export function effectiveSettings(
  conversation: Conversation | null,
  catalogue: ModelCatalogue | null,
  draft: ConversationSettings | null,
): ConversationSettings | null {
  if (conversation) {
    const model = conversation.model ?? catalogue?.models[0]?.id ?? '';
    return { model, system_prompt: conversation.system_prompt ?? '', temperature: conversation.temperature ?? null };
  }
  return draft ?? catalogue?.default ?? null;
}

/** Whether the catalogue offers `id` (unknown while the catalogue loads: assume so). */
export function isOffered(catalogue: ModelCatalogue | null, id: string): boolean {
  return !catalogue || catalogue.models.some((model) => model.id === id);
}

export function modelLabel(catalogue: ModelCatalogue | null, id: string | null | undefined): string {
  if (!id) return '';
  return catalogue?.models.find((model) => model.id === id)?.label ?? id;
}

/** A temperature as the server keeps it: 0..2 in tenths; blank or invalid text is null (the default). */
export function parseTemperature(text: string): number | null {
  if (!text.trim()) return null;
  const value = Number(text);
  if (!Number.isFinite(value)) return null;
  return Math.round(Math.min(TEMPERATURE_MAX, Math.max(0, value)) * 10) / 10;
}

/** The fields of `next` that differ from `current` (what a PATCH needs to say). */
export function changedSettings(
  current: ConversationSettings | null,
  next: Partial<ConversationSettings>,
): Partial<ConversationSettings> {
  const changed: Partial<ConversationSettings> = {};
  for (const key of ['model', 'system_prompt', 'temperature'] as const) {
    if (key in next && (!current || next[key] !== current[key])) {
      (changed as Record<string, unknown>)[key] = next[key];
    }
  }
  return changed;
}
