import { useCallback, useEffect, useRef, useState } from 'react';
import {
  ApiError,
  deleteConversation,
  listConversations,
  organizeConversation,
  renameConversation,
  type ListFilters,
} from '../../lib/api';
import { conversationsChanged, setAuthLost, useConversationsVersion } from '../../lib/liveState';
import type { ConversationSummary } from '../../lib/protocol';

const PAGE_SIZE = 30;

/**
 * The user's conversations, newest activity first, paged by `next_cursor`, narrowed by
 * `filters` (archived, pinned, folder). Refetches the first page when `q` or the filters
 * change, or a conversation changed anywhere (in any tab).
 */
export function useConversationList(q = '', filters: ListFilters = {}, pageSize = PAGE_SIZE) {
  const filterKey = JSON.stringify(filters);
  const [items, setItems] = useState<ConversationSummary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const version = useConversationsVersion();
  const request = useRef(0);

  const fail = (caught: unknown) => {
    if (caught instanceof ApiError && caught.status === 401) setAuthLost(true);
    setError(caught instanceof ApiError ? caught.message : 'Could not load conversations.');
  };

  useEffect(() => {
    const id = ++request.current;
    setLoading(true);
    const timer = setTimeout(
      () => {
        listConversations({ q, limit: pageSize, ...(JSON.parse(filterKey) as ListFilters) })
          .then((page) => {
            if (id !== request.current) return;
            setItems(page.items);
            setCursor(page.next_cursor);
            setError(null);
          })
          .catch((caught) => id === request.current && fail(caught))
          .finally(() => id === request.current && setLoading(false));
      },
      q ? 250 : 0, // debounce typing in the search box
    );
    return () => clearTimeout(timer);
  }, [q, version, filterKey, pageSize]);

  const loadMore = useCallback(() => {
    if (!cursor || loading) return;
    const id = request.current;
    setLoading(true);
    listConversations({ q, limit: pageSize, cursor, ...(JSON.parse(filterKey) as ListFilters) })
      .then((page) => {
        if (id !== request.current) return;
        setItems((current) => {
          const seen = new Set(current.map((c) => c.id));
          return [...current, ...page.items.filter((c) => !seen.has(c.id))];
        });
        setCursor(page.next_cursor);
      })
      .catch((caught) => id === request.current && fail(caught))
      .finally(() => id === request.current && setLoading(false));
  }, [cursor, loading, q, filterKey, pageSize]);

  const rename = useCallback(async (id: string, title: string) => {
    const updated = await renameConversation(id, title);
    setItems((current) => current.map((c) => (c.id === id ? { ...c, ...updated } : c)));
    conversationsChanged();
  }, []);

  /** Pin, archive or file: the lists (here and in other tabs) refetch to regroup. */
  const organize = useCallback(async (id: string, changes: Parameters<typeof organizeConversation>[1]) => {
    await organizeConversation(id, changes);
    conversationsChanged();
  }, []);

  const remove = useCallback(async (id: string) => {
    await deleteConversation(id);
    setItems((current) => current.filter((c) => c.id !== id));
    conversationsChanged();
  }, []);

  return {
    data: { items, hasMore: cursor !== null },
    loading,
    error,
    actions: { loadMore, rename, remove, organize },
  };
}
