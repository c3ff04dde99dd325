import { useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import type { Folder } from '../../../lib/protocol';

interface Organizable {
  id: string;
  title: string;
  pinned?: boolean;
  archived?: boolean;
  folder_id?: string | null;
}

export type Organize = (id: string, changes: { pinned?: boolean; archived?: boolean; folder_id?: string | null }) => Promise<void>;

const item = 'block w-full rounded px-3 py-1.5 text-left text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800';

/** "⋯" beside a conversation: pin or unpin, archive or unarchive, move to a folder. */
export function ConversationMenu({
  conversation,
  folders,
  onOrganize,
}: {
  conversation: Organizable;
  folders: Folder[];
  onOrganize: Organize;
}) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  // Open: focus its first item; a click elsewhere closes it.
  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector('button')?.focus();
    const away = (event: MouseEvent) => {
      const target = event.target as Node;
      if (!menu.current?.contains(target) && !button.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('mousedown', away);
    return () => document.removeEventListener('mousedown', away);
  }, [open]);
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  const title = conversation.title || 'Untitled';
  const run = async (changes: Parameters<Organize>[1]) => {
    setError(null);
    try {
      await onOrganize(conversation.id, changes);
      setOpen(false);
    } catch {
      setError('That did not work.');
    }
  };
  return (
    <div className="relative">
      <button
        ref={button}
        type="button"
        aria-label={`Options for ${title}`}
        aria-expanded={open}
        onClick={() => setOpen((was) => !was)}
        className="rounded px-1.5 text-zinc-500 hover:bg-zinc-200 dark:hover:bg-zinc-700"
      >
        ⋯
      </button>
      {open &&
        // In a portal, placed under the button: list rows (virtualized, clipped) cannot cover it.
        createPortal(
        <div
          ref={menu}
          role="group"
          aria-label={`Organize ${title}`}
          onKeyDown={(event) => event.key === 'Escape' && close()}
          style={place(button.current)}
          className="fixed z-50 w-52 rounded-md border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
        >
          <button type="button" className={item} onClick={() => void run({ pinned: !conversation.pinned })}>
            {conversation.pinned ? 'Unpin' : 'Pin'}
          </button>
          <button type="button" className={item} onClick={() => void run({ archived: !conversation.archived })}>
            {conversation.archived ? 'Unarchive' : 'Archive'}
          </button>
          <label className="block px-3 py-1.5 text-sm">
            <span className="mb-1 block text-xs text-zinc-500">Move to folder</span>
            <select
              aria-label="Move to folder"
              value={conversation.folder_id ?? ''}
              onChange={(event) => void run({ folder_id: event.target.value || null })}
              className="w-full rounded border border-zinc-300 bg-white px-1 py-0.5 dark:border-zinc-700 dark:bg-zinc-900"
            >
              <option value="">No folder</option>
              {folders.map((folder) => (
                <option key={folder.id} value={folder.id}>
                  {folder.name}
                </option>
              ))}
            </select>
          </label>
          {error && <p className="px-3 text-xs text-rose-600">{error}</p>}
        </div>,
        document.body,
      )}
    </div>
  );
}

const MENU_WIDTH = 208;

function place(anchor: HTMLElement | null): React.CSSProperties {
  if (!anchor) return {};
  const rect = anchor.getBoundingClientRect();
  return { top: rect.bottom + 4, left: Math.max(8, Math.min(rect.right - MENU_WIDTH, window.innerWidth - MENU_WIDTH - 8)) };
}
