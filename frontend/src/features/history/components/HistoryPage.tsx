import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { Button } from '../../../components/ui/Button';
import { Dialog } from '../../../components/ui/Dialog';
import { VirtualList } from '../../../components/ui/VirtualList';
import { ApiError, exportUrl } from '../../../lib/api';
import { useStreamingConversations } from '../../../lib/liveState';
import type { ConversationSummary } from '../../../lib/protocol';
import { useConversationList } from '../useConversationList';
import { useFolders } from '../useFolders';
import { ConversationMenu } from './ConversationMenu';
import { Highlight } from './Highlight';

export const HISTORY_SEARCH_ID = 'history-search';

const linkClass = 'text-sky-700 underline dark:text-sky-400';

/** A message preview without the Markdown marks that only clutter one line of text. */
function plainPreview(text: string): string {
  return text
    .replace(/(```|~~~)[\w-]*/g, ' ')
    .replace(/`|\*\*|__/g, '')
    .replace(/(^|\s)#{1,6}\s+/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

const inputClass =
  'w-full rounded-md border border-zinc-300 bg-white px-3 py-2 dark:border-zinc-700 dark:bg-zinc-900';

/** Search, rename, delete and export conversations; `tools` go under the heading. */
export function HistoryPage({ tools }: { tools?: React.ReactNode } = {}) {
  const [q, setQ] = useState('');
  const [show, setShow] = useState<'active' | 'archived' | 'all'>('all');
  const [folder, setFolder] = useState('');
  const filters = { ...(show === 'all' ? {} : { archived: show === 'archived' }), ...(folder ? { folder } : {}) };
  const { data, loading, error, actions } = useConversationList(q, filters);
  const folders = useFolders();
  const streaming = useStreamingConversations();
  const [renaming, setRenaming] = useState<ConversationSummary | null>(null);
  const [deleting, setDeleting] = useState<ConversationSummary | null>(null);
  const [newTitle, setNewTitle] = useState('');
  const [actionError, setActionError] = useState<string | null>(null);

  const run = async (action: () => Promise<void>) => {
    setActionError(null);
    try {
      await action();
      setRenaming(null);
      setDeleting(null);
    } catch (caught) {
      setActionError(caught instanceof ApiError ? caught.message : 'That did not work.');
    }
  };

  const submitRename = (event: FormEvent) => {
    event.preventDefault();
    if (renaming && newTitle.trim()) void run(() => actions.rename(renaming.id, newTitle.trim()));
  };

  const renderItem = (conversation: ConversationSummary) => (
    <div className="border-b border-zinc-200 px-1 py-3 dark:border-zinc-800">
      <div className="flex flex-wrap items-center gap-2">
        {/* At least 16rem for the title: on a phone the date wraps below it instead. */}
        <Link to={`/c/${conversation.id}`} className="min-w-0 flex-[1_1_16rem] truncate font-medium hover:underline">
          <Highlight text={conversation.title || 'Untitled'} query={q} />
        </Link>
        {streaming.has(conversation.id) && <span className="text-xs text-sky-600">answering…</span>}
        {conversation.pinned && <span className="text-xs text-zinc-500">pinned</span>}
        {conversation.archived && <span className="text-xs text-amber-700 dark:text-amber-400">archived</span>}
        {conversation.folder_id && (
          <span className="text-xs text-zinc-500">in {folders.data.find((f) => f.id === conversation.folder_id)?.name ?? 'a folder'}</span>
        )}
        <span className="text-xs text-zinc-500">
          {conversation.message_count} messages · {new Date(conversation.updated_at).toLocaleString()}
        </span>
      </div>
      {conversation.preview && (
        <p className="mt-1 line-clamp-2 text-sm text-zinc-600 dark:text-zinc-400">
          <Highlight text={plainPreview(conversation.preview)} query={q} />
        </p>
      )}
      <div className="mt-2 flex flex-wrap gap-2 text-sm">
        <Button
          aria-label={`Rename ${conversation.title || 'conversation'}`}
          onClick={() => {
            setNewTitle(conversation.title);
            setActionError(null);
            setRenaming(conversation);
          }}
        >
          Rename
        </Button>
        <Button
          aria-label={`Delete ${conversation.title || 'conversation'}`}
          onClick={() => {
            setActionError(null);
            setDeleting(conversation);
          }}
        >
          Delete
        </Button>
        <ConversationMenu conversation={conversation} folders={folders.data} onOrganize={actions.organize} />
        <span className="flex gap-2 self-center">
          <span className="text-zinc-500" aria-hidden="true">
            Export:
          </span>
          <a className={linkClass} href={exportUrl(conversation.id, 'markdown')} download aria-label="Export Markdown">
            Markdown
          </a>
          <a className={linkClass} href={exportUrl(conversation.id, 'json')} download aria-label="Export JSON">
            JSON
          </a>
        </span>
      </div>
    </div>
  );

  return (
    <div className="mx-auto flex h-full min-h-0 w-full max-w-3xl flex-col px-4 pt-4">
      <h1 className="mb-3 text-xl font-semibold">History</h1>
      {tools}
      <label htmlFor={HISTORY_SEARCH_ID} className="sr-only">
        Search conversations
      </label>
      <input
        id={HISTORY_SEARCH_ID}
        type="search"
        placeholder="Search titles and messages (Ctrl+K)"
        value={q}
        onChange={(event) => setQ(event.target.value)}
        className={inputClass}
        autoFocus
      />
      <div className="mt-2 flex flex-wrap gap-3 text-sm">
        <label className="flex items-center gap-1">
          Show
          <select aria-label="Show" value={show} onChange={(event) => setShow(event.target.value as typeof show)}
            className="rounded border border-zinc-300 bg-white px-1 py-0.5 dark:border-zinc-700 dark:bg-zinc-900">
            <option value="all">All</option>
            <option value="active">Not archived</option>
            <option value="archived">Archived</option>
          </select>
        </label>
        <label className="flex items-center gap-1">
          Folder
          <select aria-label="Folder" value={folder} onChange={(event) => setFolder(event.target.value)}
            className="rounded border border-zinc-300 bg-white px-1 py-0.5 dark:border-zinc-700 dark:bg-zinc-900">
            <option value="">Any</option>
            <option value="none">No folder</option>
            {folders.data.map((f) => (
              <option key={f.id} value={f.id}>{f.name}</option>
            ))}
          </select>
        </label>
      </div>
      {error && <p role="alert" className="mt-2 text-sm text-rose-600">{error}</p>}
      {!loading && data.items.length === 0 && !error && (
        <p className="mt-4 text-zinc-500">{q ? 'Nothing matches.' : 'No conversations yet.'}</p>
      )}
      <VirtualList
        className="mt-2 flex-1"
        label="Conversations"
        items={data.items}
        itemKey={(c) => c.id}
        estimateSize={120}
        renderItem={renderItem}
        onEndReached={data.hasMore ? actions.loadMore : undefined}
      />
      {loading && <p className="py-2 text-sm text-zinc-500">Loading…</p>}

      <Dialog title="Rename conversation" open={renaming !== null} onClose={() => setRenaming(null)}>
        <form onSubmit={submitRename} className="space-y-3">
          <label className="block text-sm">
            Title
            <input className={`mt-1 ${inputClass}`} value={newTitle} onChange={(e) => setNewTitle(e.target.value)} required />
          </label>
          {actionError && <p role="alert" className="text-sm text-rose-600">{actionError}</p>}
          <div className="flex justify-end gap-2">
            <Button onClick={() => setRenaming(null)}>Cancel</Button>
            <Button variant="primary" type="submit">
              Save
            </Button>
          </div>
        </form>
      </Dialog>

      <Dialog title="Delete conversation?" open={deleting !== null} onClose={() => setDeleting(null)}>
        <p className="mb-4 text-sm">
          “{deleting?.title || 'Untitled'}” and all its messages will be deleted. This cannot be undone.
        </p>
        {actionError && <p role="alert" className="mb-2 text-sm text-rose-600">{actionError}</p>}
        <div className="flex justify-end gap-2">
          <Button onClick={() => setDeleting(null)}>Cancel</Button>
          <Button variant="danger" onClick={() => deleting && void run(() => actions.remove(deleting.id))}>
            Delete
          </Button>
        </div>
      </Dialog>
    </div>
  );
}
