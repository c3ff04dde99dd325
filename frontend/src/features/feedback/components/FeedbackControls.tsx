import { useState } from 'react';
import { IconButton } from '../../../components/ui/IconButton';
import { COMMENT_MAX, REASONS, reasonLabel, type Feedback, type Rating } from '../protocol';

interface FeedbackControlsProps {
  messageId: string;
  feedback: Feedback | null | undefined;
  onRate: (messageId: string, rating: Rating, reason?: string | null, comment?: string) => Promise<void>;
  onWithdraw: (messageId: string) => Promise<void>;
}

const THUMBS: Record<Rating, string> = { up: '👍', down: '👎' };

/**
 * Thumbs up or down on an answer; the chosen thumb again withdraws the rating. After a
 * thumb, an optional reason and comment can be added (and changed later).
 */
export function FeedbackControls({ messageId, feedback, onRate, onWithdraw }: FeedbackControlsProps) {
  const [editing, setEditing] = useState(false);
  const [reason, setReason] = useState('');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const current = feedback?.rating ?? null;

  const run = (work: Promise<void>) =>
    work.then(
      () => setError(null),
      (exc: Error) => setError(exc.message),
    );

  const choose = (rating: Rating) => {
    if (current === rating) {
      setEditing(false);
      void run(onWithdraw(messageId));
      return;
    }
    setReason('');
    setComment(feedback?.comment ?? '');
    setEditing(true);
    void run(onRate(messageId, rating, null, feedback?.comment ?? ''));
  };

  const save = () => {
    if (!current) return;
    void run(onRate(messageId, current, reason || null, comment)).then(() => setEditing(false));
  };

  return (
    <div className="space-y-1" data-testid="feedback">
      <div className="flex items-center gap-1">
        {(['up', 'down'] as const).map((rating) => (
          <IconButton
            key={rating}
            label={rating === 'up' ? 'Good answer' : 'Bad answer'}
            aria-pressed={current === rating}
            className={current === rating ? 'bg-zinc-200 dark:bg-zinc-700' : ''}
            onClick={() => choose(rating)}
          >
            <span aria-hidden>{THUMBS[rating]}</span>
          </IconButton>
        ))}
        {current && !editing && (
          <button
            type="button"
            className="text-xs text-zinc-500 underline"
            onClick={() => {
              setReason(feedback?.reason ?? '');
              setComment(feedback?.comment ?? '');
              setEditing(true);
            }}
          >
            {feedback?.reason || feedback?.comment ? 'Edit feedback' : 'Add a reason'}
          </button>
        )}
        {current && !editing && feedback?.reason && (
          <span className="text-xs text-zinc-500">{reasonLabel(feedback.reason)}</span>
        )}
      </div>
      {current && editing && (
        <form
          className="flex flex-wrap items-start gap-2 text-sm"
          onSubmit={(event) => {
            event.preventDefault();
            save();
          }}
        >
          <select
            aria-label="Reason"
            value={reason}
            onChange={(event) => setReason(event.target.value)}
            className="rounded border border-zinc-300 bg-transparent px-1 py-1 dark:border-zinc-700"
          >
            <option value="">No reason</option>
            {REASONS[current].map((name) => (
              <option key={name} value={name}>
                {reasonLabel(name)}
              </option>
            ))}
          </select>
          <textarea
            aria-label="Comment"
            placeholder="Comment (optional)"
            maxLength={COMMENT_MAX}
            rows={1}
            value={comment}
            onChange={(event) => setComment(event.target.value)}
            className="min-w-48 flex-1 rounded border border-zinc-300 bg-transparent px-2 py-1 dark:border-zinc-700"
          />
          <button type="submit" className="rounded bg-zinc-800 px-2 py-1 text-white dark:bg-zinc-200 dark:text-zinc-900">
            Save
          </button>
          <button type="button" className="px-1 py-1 text-zinc-500" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      )}
      {error && (
        <p role="alert" className="text-xs text-red-600">
          {error}
        </p>
      )}
    </div>
  );
}
