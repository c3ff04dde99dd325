import { forwardRef, useImperativeHandle, useLayoutEffect, useRef, type KeyboardEvent } from 'react';
import { IconButton } from '../../../components/ui/IconButton';
import { SendIcon, StopIcon } from '../../../components/ui/icons';

interface ComposerProps {
  draft: string;
  onDraftChange: (draft: string) => void;
  onSend: (content: string) => void;
  onStop: () => void;
  streaming: boolean;
  disabled?: boolean;
}

/** The message box: Enter sends, Shift+Enter breaks the line; Stop while an answer streams. */
export const Composer = forwardRef<HTMLTextAreaElement, ComposerProps>(function Composer(
  { draft, onDraftChange, onSend, onStop, streaming, disabled = false },
  ref,
) {
  const box = useRef<HTMLTextAreaElement>(null);
  useImperativeHandle(ref, () => box.current as HTMLTextAreaElement);
  // Grow with the text up to a limit (CSS field-sizing is not everywhere yet).
  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    element.style.height = 'auto';
    element.style.height = `${Math.min(element.scrollHeight, 240)}px`;
  }, [draft]);
  const canSend = !streaming && !disabled && draft.trim().length > 0;
  const send = () => {
    if (canSend) onSend(draft);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };
  return (
    <form
      className="flex items-end gap-2 rounded-xl border border-zinc-300 bg-white p-2 shadow-sm focus-within:border-sky-500 dark:border-zinc-700 dark:bg-zinc-900"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <textarea
        ref={box}
        aria-label="Message"
        placeholder="Write a message… (Enter to send, Shift+Enter for a new line)"
        rows={1}
        value={draft}
        onChange={(event) => onDraftChange(event.target.value)}
        onKeyDown={onKeyDown}
        className="max-h-60 min-h-10 flex-1 resize-none bg-transparent px-2 py-2 outline-none focus-visible:outline-none"
      />
      {streaming ? (
        <IconButton label="Stop generating" onClick={onStop} className="h-10 w-10 bg-zinc-100 dark:bg-zinc-800">
          <StopIcon />
        </IconButton>
      ) : (
        <IconButton
          label="Send message"
          type="submit"
          disabled={!canSend}
          className="h-10 w-10 bg-sky-600 text-white hover:bg-sky-700 hover:text-white dark:text-white"
        >
          <SendIcon />
        </IconButton>
      )}
    </form>
  );
});
