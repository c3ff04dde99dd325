import { NavLink } from 'react-router';
import { VirtualList } from '../../../components/ui/VirtualList';
import { useStreamingConversations } from '../../../lib/liveState';
import type { ConversationSummary } from '../../../lib/protocol';
import { useConversationList } from '../useConversationList';

/** Recent conversations (newest activity first), infinite scroll, streaming marker. */
export function ConversationSidebarList({ onNavigate }: { onNavigate?: () => void }) {
  const { data, loading, error, actions } = useConversationList();
  const streaming = useStreamingConversations();

  const renderItem = (conversation: ConversationSummary) => (
    <NavLink
      to={`/c/${conversation.id}`}
      onClick={onNavigate}
      className={({ isActive }) =>
        `flex items-center gap-2 rounded-md px-3 py-2 text-sm hover:bg-zinc-200/70 dark:hover:bg-zinc-800 ${
          isActive ? 'bg-zinc-200 font-medium dark:bg-zinc-800' : ''
        }`
      }
    >
      <span className="min-w-0 flex-1 truncate">{conversation.title || 'Untitled'}</span>
      {streaming.has(conversation.id) && (
        <span className="h-2 w-2 shrink-0 animate-pulse rounded-full bg-sky-500" role="img" aria-label="answer in progress" />
      )}
    </NavLink>
  );

  return (
    <nav aria-label="Recent conversations" className="flex min-h-0 flex-1 flex-col">
      {error && <p className="px-3 py-2 text-sm text-rose-600">{error}</p>}
      {!loading && data.items.length === 0 && !error && (
        <p className="px-3 py-2 text-sm text-zinc-500">No conversations yet.</p>
      )}
      <VirtualList
        className="flex-1 px-2"
        label="Conversations"
        items={data.items}
        itemKey={(c) => c.id}
        estimateSize={36}
        renderItem={renderItem}
        onEndReached={data.hasMore ? actions.loadMore : undefined}
      />
      {loading && <p className="px-3 py-1 text-xs text-zinc-500">Loading…</p>}
    </nav>
  );
}
