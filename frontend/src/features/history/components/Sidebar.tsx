import { useEffect, useState, type FormEvent } from 'react';
import { Link, NavLink } from 'react-router';
import { VirtualList } from '../../../components/ui/VirtualList';
import { ApiError, getModels } from '../../../lib/api';
import { useStreamingConversations } from '../../../lib/liveState';
import type { ConversationSummary, Folder, ModelInfo } from '../../../lib/protocol';
import { useConversationList } from '../useConversationList';
import { useFolders } from '../useFolders';
import { ConversationMenu, type Organize } from './ConversationMenu';

const RECENT = { folder: 'none', archived: false, pinned: false };
const PINNED = { pinned: true, archived: false };

function ConversationLink({ conversation, folders, onOrganize, onNavigate }: {
  conversation: ConversationSummary;
  folders: Folder[];
  onOrganize: Organize;
  onNavigate?: () => void;
}) {
  const streaming = useStreamingConversations();
  return (
    <div className="group flex items-center">
      <NavLink
        to={`/c/${conversation.id}`}
        onClick={onNavigate}
        className={({ isActive }) =>
          `flex min-w-0 flex-1 items-center gap-2 rounded-md px-3 py-2 text-sm hover:bg-zinc-200/70 dark:hover:bg-zinc-800 ${
            isActive ? 'bg-zinc-200 font-medium dark:bg-zinc-800' : ''
          }`
        }
      >
        <span className="min-w-0 flex-1 truncate">{conversation.title || 'Untitled'}</span>
        {streaming.has(conversation.id) && (
          <span className="h-2 w-2 shrink-0 animate-pulse rounded-full bg-sky-500" role="img" aria-label="answer in progress" />
        )}
      </NavLink>
      <ConversationMenu conversation={conversation} folders={folders} onOrganize={onOrganize} />
    </div>
  );
}

/** One folder: its name and count; opened, its conversations (loaded only then). */
function FolderGroup({ folder, folders, onNavigate, onRename, onDelete, onDefaults }: {
  folder: Folder;
  folders: Folder[];
  onNavigate?: () => void;
  onRename: (name: string) => Promise<void>;
  onDelete: () => Promise<void>;
  onDefaults: (defaults: { model: string; system_prompt: string }) => Promise<void>;
}) {
  const [open, setOpen] = useState(false);
  const [naming, setNaming] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  return (
    <li>
      <div className="flex items-center gap-1 px-1">
        <button
          type="button"
          aria-expanded={open}
          aria-label={`Folder ${folder.name}, ${folder.conversation_count} conversation${folder.conversation_count === 1 ? '' : 's'}`}
          onClick={() => setOpen((was) => !was)}
          className="flex min-w-0 flex-1 items-center gap-1 rounded px-2 py-1.5 text-left text-sm hover:bg-zinc-200/70 dark:hover:bg-zinc-800"
        >
          <span aria-hidden>{open ? '▾' : '▸'}</span>
          {naming === null && (
            <>
              <span className="min-w-0 flex-1 truncate">{folder.name}</span>
              <span className="text-xs text-zinc-500">{folder.conversation_count}</span>
            </>
          )}
        </button>
        {naming !== null ? (
          <form
            className="flex-1"
            onSubmit={(event) => {
              event.preventDefault();
              if (naming.trim()) void onRename(naming.trim()).then(() => setNaming(null));
            }}
          >
            <input
              autoFocus
              aria-label={`New name for ${folder.name}`}
              value={naming}
              onChange={(event) => setNaming(event.target.value)}
              onKeyDown={(event) => event.key === 'Escape' && setNaming(null)}
              className="w-full rounded border border-zinc-300 px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900"
            />
          </form>
        ) : (
          <>
            <Link to={`/?folder=${folder.id}`} onClick={onNavigate} aria-label={`New chat in ${folder.name}`} title="New chat here"
              className="rounded px-1 text-xs text-zinc-500 hover:bg-zinc-200 dark:hover:bg-zinc-700">
              ＋
            </Link>
            <button type="button" aria-label={`Defaults of ${folder.name}`} aria-expanded={editing} onClick={() => setEditing((was) => !was)}
              title="Model and system prompt for new chats here" className="rounded px-1 text-xs text-zinc-500 hover:bg-zinc-200 dark:hover:bg-zinc-700">
              ⚙
            </button>
            <button type="button" aria-label={`Rename folder ${folder.name}`} onClick={() => setNaming(folder.name)}
              className="rounded px-1 text-xs text-zinc-500 hover:bg-zinc-200 dark:hover:bg-zinc-700">
              ✎
            </button>
            <button
              type="button"
              aria-label={`Delete folder ${folder.name}`}
              onClick={() => {
                if (window.confirm(`Delete the folder “${folder.name}”? Its conversations are kept, in no folder.`)) void onDelete();
              }}
              className="rounded px-1 text-xs text-zinc-500 hover:bg-zinc-200 dark:hover:bg-zinc-700"
            >
              ✕
            </button>
          </>
        )}
      </div>
      {editing && <FolderDefaults folder={folder} onSave={(defaults) => onDefaults(defaults).then(() => setEditing(false))} />}
      {open && <FolderConversations folder={folder} folders={folders} onNavigate={onNavigate} />}
    </li>
  );
}

/** The model and system prompt new chats started in the folder begin with. */
function FolderDefaults({ folder, onSave }: { folder: Folder; onSave: (defaults: { model: string; system_prompt: string }) => Promise<void> }) {
  const [models, setModels] = useState<ModelInfo[]>([]);
  const [model, setModel] = useState(folder.model);
  const [prompt, setPrompt] = useState(folder.system_prompt);
  useEffect(() => {
    getModels().then((catalogue) => setModels(Array.isArray(catalogue?.models) ? catalogue.models : []), () => undefined);
  }, []);
  return (
    <form
      aria-label={`Defaults of ${folder.name}`}
      className="ml-4 space-y-1 px-2 py-1 text-sm"
      onSubmit={(event) => {
        event.preventDefault();
        void onSave({ model, system_prompt: prompt }).catch(() => undefined);
      }}
    >
      <label className="block text-xs text-zinc-500">
        Model for new chats
        <select value={model} onChange={(event) => setModel(event.target.value)} aria-label="Model for new chats"
          className="mt-0.5 block w-full rounded border border-zinc-300 bg-white px-1 py-0.5 dark:border-zinc-700 dark:bg-zinc-900">
          <option value="">The user's last choice</option>
          {models.map((m) => (
            <option key={m.id} value={m.id}>{m.label}</option>
          ))}
        </select>
      </label>
      <label className="block text-xs text-zinc-500">
        System prompt for new chats
        <textarea value={prompt} onChange={(event) => setPrompt(event.target.value)} rows={3} aria-label="System prompt for new chats"
          className="mt-0.5 block w-full rounded border border-zinc-300 bg-white px-1 py-0.5 dark:border-zinc-700 dark:bg-zinc-900" />
      </label>
      <button type="submit" className="rounded bg-zinc-900 px-2 py-0.5 text-xs text-white dark:bg-zinc-100 dark:text-zinc-900">
        Save defaults
      </button>
    </form>
  );
}

function FolderConversations({ folder, folders, onNavigate }: { folder: Folder; folders: Folder[]; onNavigate?: () => void }) {
  const { data, loading, actions } = useConversationList('', { folder: folder.id, archived: false });
  return (
    <ul aria-label={`Conversations in ${folder.name}`} className="ml-4">
      {data.items.map((conversation) => (
        <li key={conversation.id}>
          <ConversationLink conversation={conversation} folders={folders} onOrganize={actions.organize} onNavigate={onNavigate} />
        </li>
      ))}
      {!loading && data.items.length === 0 && <li className="px-3 py-1 text-xs text-zinc-500">Empty.</li>}
      {data.hasMore && (
        <li>
          <button type="button" onClick={actions.loadMore} className="px-3 py-1 text-xs text-sky-700 underline dark:text-sky-400">
            More
          </button>
        </li>
      )}
    </ul>
  );
}

/**
 * The sidebar's conversations: pinned ones first, then folders (each opened on demand),
 * then recent ones in no folder (newest activity first, infinite scroll). Archived ones
 * are on the history page only.
 */
export function ConversationSidebarList({ onNavigate }: { onNavigate?: () => void }) {
  const { data, loading, error, actions } = useConversationList('', RECENT);
  const pinned = useConversationList('', PINNED, 50);
  const folders = useFolders();
  const [naming, setNaming] = useState<string | null>(null);
  const [folderError, setFolderError] = useState<string | null>(null);

  const folderAction = async (action: () => Promise<void>) => {
    setFolderError(null);
    try {
      await action();
    } catch (caught) {
      setFolderError(caught instanceof ApiError ? caught.message : 'That did not work.');
      throw caught;
    }
  };
  const create = (event: FormEvent) => {
    event.preventDefault();
    if (naming?.trim()) void folderAction(() => folders.actions.create(naming.trim())).then(() => setNaming(null), () => undefined);
  };

  const renderItem = (conversation: ConversationSummary) => (
    <ConversationLink conversation={conversation} folders={folders.data} onOrganize={actions.organize} onNavigate={onNavigate} />
  );

  return (
    <nav aria-label="Recent conversations" className="flex min-h-0 flex-1 flex-col">
      <div className="max-h-[50%] shrink-0 overflow-y-auto px-2">
        {pinned.data.items.length > 0 && (
          <section aria-label="Pinned">
            <h3 className="px-3 pt-1 text-xs font-semibold text-zinc-500 uppercase">Pinned</h3>
            <ul aria-label="Pinned conversations">
              {pinned.data.items.map((conversation) => (
                <li key={conversation.id}>
                  <ConversationLink conversation={conversation} folders={folders.data} onOrganize={pinned.actions.organize} onNavigate={onNavigate} />
                </li>
              ))}
            </ul>
          </section>
        )}
        <section aria-label="Folders">
          <div className="flex items-center px-3 pt-1">
            <h3 className="flex-1 text-xs font-semibold text-zinc-500 uppercase">Folders</h3>
            <button type="button" onClick={() => setNaming('')} className="text-xs text-sky-700 hover:underline dark:text-sky-400">
              New folder
            </button>
          </div>
          {naming !== null && (
            <form onSubmit={create} className="px-2 py-1">
              <input
                autoFocus
                aria-label="Folder name"
                value={naming}
                onChange={(event) => setNaming(event.target.value)}
                onKeyDown={(event) => event.key === 'Escape' && setNaming(null)}
                className="w-full rounded border border-zinc-300 px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900"
              />
            </form>
          )}
          {folderError && <p role="alert" className="px-3 text-xs text-rose-600">{folderError}</p>}
          <ul aria-label="Folders">
            {folders.data.map((folder) => (
              <FolderGroup
                key={folder.id}
                folder={folder}
                folders={folders.data}
                onNavigate={onNavigate}
                onRename={(name) => folderAction(() => folders.actions.rename(folder.id, name))}
                onDelete={() => folderAction(() => folders.actions.remove(folder.id))}
                onDefaults={(defaults) => folderAction(() => folders.actions.update(folder.id, defaults))}
              />
            ))}
          </ul>
        </section>
      </div>
      <h3 className="px-5 pt-2 text-xs font-semibold text-zinc-500 uppercase">Recent</h3>
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
