import { useCallback, useEffect, useState } from 'react';
import { ApiError, getModels, updateConversationSettings } from '../../lib/api';
import type { Conversation, ConversationSettings, ModelCatalogue } from '../../lib/protocol';
import { changedSettings, effectiveSettings, isOffered } from './settings';

/**
 * The model picker's and the settings panel's state for one chat: `{data, actions}`.
 * An existing conversation is changed on the server (PATCH; every tab hears
 * conversation.updated); a new chat keeps the choice here and sends it with its first
 * message (`firstSend`). The catalogue and the user's last choice are read on mount.
 */
export function useChatSettings(conversation: Conversation | null, preset?: Partial<ConversationSettings>) {
  const [catalogue, setCatalogue] = useState<ModelCatalogue | null>(null);
  const [draft, setDraft] = useState<ConversationSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    let live = true;
    getModels()
      // An older server (no /api/models/) answers something else: no picker then.
      .then((loaded) => live && Array.isArray(loaded?.models) && loaded.models.length > 0 && setCatalogue(loaded))
      .catch(() => live && setError('The list of models could not be loaded.'));
    return () => {
      live = false;
    };
  }, []);

  const base = effectiveSettings(conversation, catalogue, draft);
  // A new chat started somewhere with defaults of its own (a folder's) starts from them.
  const seeded = !conversation && !draft && preset && base ? { ...base, ...preset } : null;
  const current = seeded ?? base;
  const conversationId = conversation?.id ?? null;

  const choose = useCallback(
    async (next: Partial<ConversationSettings>) => {
      setError(null);
      if (!conversationId) {
        if (current) setDraft({ ...current, ...next });
        return;
      }
      const changed = changedSettings(current, next);
      if (!Object.keys(changed).length) return;
      setSaving(true);
      try {
        await updateConversationSettings(conversationId, changed); // the socket brings the result
      } catch (failure) {
        setError(failure instanceof ApiError ? failure.message : 'The settings could not be saved.');
      } finally {
        setSaving(false);
      }
    },
    [conversationId, current],
  );

  return {
    data: {
      catalogue,
      current,
      error,
      saving,
      withdrawn: current ? !isOffered(catalogue, current.model) : false,
      /** What the first message of a new chat carries: the choice made for it, if any. */
      firstSend: conversationId ? undefined : (draft ?? seeded ?? undefined),
    },
    actions: { choose },
  };
}
