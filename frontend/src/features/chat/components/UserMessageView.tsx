import { useState } from 'react';
import { CopyButton } from '../../../components/ui/CopyButton';
import { IconButton } from '../../../components/ui/IconButton';
import { PencilIcon } from '../../../components/ui/icons';
import { VersionSwitcher } from './VersionSwitcher';

interface UserMessageViewProps {
  content: string;
  sending?: boolean;
  /** This question's versions (its edits): "‹ 2 / 3 ›". */
  versions?: { index: number; count: number; onChange: (index: number) => void };
  /** Present where editing makes sense (nothing streaming): sends the edit as a new version. */
  onEdit?: (content: string) => void;
}

/** What the user wrote, as plain text (line breaks kept), right-aligned; editable in place. */
export function UserMessageView({ content, sending = false, versions, onEdit }: UserMessageViewProps) {
  const [editing, setEditing] = useState<string | null>(null);

  if (editing !== null) {
    const submit = () => {
      if (!editing.trim() || !onEdit) return;
      onEdit(editing);
      setEditing(null);
    };
    return (
      <form
        className="flex flex-col items-end gap-2"
        onSubmit={(event) => {
          event.preventDefault();
          submit();
        }}
      >
        <textarea
          aria-label="Edit message"
          autoFocus
          value={editing}
          onChange={(event) => setEditing(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === 'Escape') setEditing(null);
            if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
              event.preventDefault();
              submit();
            }
          }}
          rows={Math.min(10, Math.max(2, editing.split('\n').length))}
          className="w-full max-w-[85%] rounded-2xl border border-zinc-300 bg-white px-4 py-2 dark:border-zinc-700 dark:bg-zinc-900"
        />
        <div className="flex gap-2 text-sm">
          <button type="button" onClick={() => setEditing(null)} className="rounded-lg px-3 py-1 hover:bg-zinc-100 dark:hover:bg-zinc-800">
            Cancel
          </button>
          <button
            type="submit"
            disabled={!editing.trim() || !onEdit}
            className="rounded-lg bg-zinc-900 px-3 py-1 text-white disabled:opacity-50 dark:bg-zinc-100 dark:text-zinc-900"
          >
            Send edit
          </button>
        </div>
      </form>
    );
  }

  return (
    <div className="group flex flex-col items-end gap-1">
      <div
        className={`max-w-[85%] rounded-2xl bg-zinc-100 px-4 py-2 whitespace-pre-wrap break-words dark:bg-zinc-800 ${sending ? 'opacity-60' : ''}`}
      >
        {content}
      </div>
      <div className="flex items-center gap-1 text-xs text-zinc-500">
        {sending && <span>Sending…</span>}
        {versions && <VersionSwitcher {...versions} what="message" />}
        {onEdit && (
          <IconButton label="Edit message" onClick={() => setEditing(content)}>
            <PencilIcon />
          </IconButton>
        )}
        <CopyButton label="Copy message" text={() => content} />
      </div>
    </div>
  );
}
