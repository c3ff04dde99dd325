import { CopyButton } from '../../../components/ui/CopyButton';

/** What the user wrote, as plain text (line breaks kept), right-aligned. */
export function UserMessageView({ content, sending = false }: { content: string; sending?: boolean }) {
  return (
    <div className="group flex flex-col items-end gap-1">
      <div
        className={`max-w-[85%] rounded-2xl bg-zinc-100 px-4 py-2 whitespace-pre-wrap break-words dark:bg-zinc-800 ${sending ? 'opacity-60' : ''}`}
      >
        {content}
      </div>
      <div className="flex items-center gap-1 text-xs text-zinc-500">
        {sending && <span>Sending…</span>}
        <CopyButton label="Copy message" text={() => content} />
      </div>
    </div>
  );
}
