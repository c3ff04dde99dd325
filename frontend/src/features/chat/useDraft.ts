import { useCallback, useState } from 'react';

const storageKey = (key: string) => `chat.draft.${key}`;

function store(key: string, draft: string) {
  if (draft) localStorage.setItem(storageKey(key), draft);
  else localStorage.removeItem(storageKey(key));
}

/**
 * The composer's text, kept in localStorage under `key` (survives reloads, reconnects and
 * re-login). When `key` changes (a new chat became /c/<id>) the text moves with it.
 */
export function useDraft(key: string) {
  const [state, setState] = useState(() => ({ key, draft: localStorage.getItem(storageKey(key)) ?? '' }));
  if (state.key !== key) {
    store(state.key, '');
    store(key, state.draft);
    setState({ key, draft: state.draft });
  }
  const setDraft = useCallback(
    (draft: string) => {
      store(key, draft);
      setState({ key, draft });
    },
    [key],
  );
  return { draft: state.draft, setDraft };
}
