import { CopyButton } from '../../../components/ui/CopyButton';
import { IconButton } from '../../../components/ui/IconButton';
import { RefreshIcon } from '../../../components/ui/icons';
import type { ReactNode } from 'react';
import type { Message } from '../../../lib/protocol';
import { Markdown } from './Markdown';
import { ThinkingPanel } from './ThinkingPanel';
import { VersionSwitcher } from './VersionSwitcher';

interface AnswerViewProps {
  answer: Message;
  versionIndex: number;
  versionCount: number;
  onVersionChange: (index: number) => void;
  /** Present only where regenerating makes sense (the last answer, nothing streaming). */
  onRegenerate?: () => void;
  /** Other features' controls for a finished answer (e.g. rating it). */
  extras?: (answer: Message) => ReactNode;
}

function StatusNote({ answer }: { answer: Message }) {
  switch (answer.status) {
    case 'stopped':
      return <p className="text-sm text-zinc-500">Stopped.</p>;
    case 'interrupted':
      return <p className="text-sm text-amber-700 dark:text-amber-400">Interrupted: the server stopped before the answer finished.</p>;
    case 'error':
      return (
        <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
          Error: {answer.error || 'the answer failed.'}
        </p>
      );
    default:
      return null;
  }
}

/** Earlier turns the server dropped to fit the model's window: the answer did not see them. */
function ContextNote({ omitted }: { omitted: number }) {
  if (omitted <= 0) return null;
  return (
    <p className="text-xs text-zinc-500 dark:text-zinc-400">
      {omitted === 1 ? '1 earlier message was' : `${omitted} earlier messages were`} left out of the model&apos;s context.
    </p>
  );
}

/** One assistant answer: thinking, Markdown text, status, and its actions. */
export function AnswerView({
  answer,
  versionIndex,
  versionCount,
  onVersionChange,
  onRegenerate,
  extras,
}: AnswerViewProps) {
  const streaming = answer.status === 'streaming';
  return (
    <article aria-label="Assistant answer" aria-busy={streaming} className="space-y-1">
      {answer.reasoning && (
        <ThinkingPanel text={answer.reasoning} thinking={streaming && !answer.content} />
      )}
      {answer.content ? (
        <Markdown text={answer.content} streaming={streaming} />
      ) : streaming ? (
        <p className="animate-pulse text-zinc-500" aria-label="Answer is being written">
          …
        </p>
      ) : null}
      <StatusNote answer={answer} />
      <ContextNote omitted={answer.context_omitted ?? 0} />
      <div className="flex items-center gap-1">
        <VersionSwitcher index={versionIndex} count={versionCount} onChange={onVersionChange} />
        {!streaming && <CopyButton label="Copy answer" text={() => answer.content} />}
        {onRegenerate && (
          <IconButton label="Regenerate answer" onClick={onRegenerate}>
            <RefreshIcon />
          </IconButton>
        )}
        {answer.model && !streaming && <span className="ml-1 text-xs text-zinc-400">{answer.model}</span>}
      </div>
      {!streaming && extras?.(answer)}
    </article>
  );
}
