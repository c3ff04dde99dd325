import { useId, useState } from 'react';

/** The model's reasoning, collapsed by default; open while it is still thinking. */
export function ThinkingPanel({ text, thinking }: { text: string; thinking: boolean }) {
  const [open, setOpen] = useState<boolean | null>(null);
  const isOpen = open ?? thinking;
  const id = useId();
  return (
    <div className="mb-2 rounded-md border border-zinc-200 text-sm dark:border-zinc-800">
      <button
        type="button"
        aria-expanded={isOpen}
        aria-controls={id}
        onClick={() => setOpen(!isOpen)}
        className="flex w-full items-center gap-2 px-3 py-1.5 text-left text-zinc-600 dark:text-zinc-400"
      >
        <span aria-hidden="true">{isOpen ? '▾' : '▸'}</span>
        {thinking ? 'Thinking…' : 'Thinking'}
      </button>
      {isOpen && (
        <div
          id={id}
          className="border-t border-zinc-200 px-3 py-2 whitespace-pre-wrap text-zinc-600 dark:border-zinc-800 dark:text-zinc-400"
        >
          {text}
        </div>
      )}
    </div>
  );
}
