import { useCallback, useState } from 'react';

const key = (conversationId: string) => `chat.draft.${conversationId}`;

/** The composer's text, kept in localStorage per conversation (survives reloads and re-login). */
export function useDraft(conversationId: string) {
  const [draft, setDraftState] = useState(() => localStorage.getItem(key(conversationId)) ?? '');
  const setDraft = useCallback(
    (next: string) => {
      setDraftState(next);
      if (next) localStorage.setItem(key(conversationId), next);
      else localStorage.removeItem(key(conversationId));
    },
    [conversationId],
  );
  return { draft, setDraft };
}
