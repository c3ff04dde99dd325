import { IconButton } from '../../../components/ui/IconButton';
import { CloseIcon } from '../../../components/ui/icons';
import type { ErrorFrame } from '../../../lib/protocol';

/** Plain words for a refused frame. */
export function describeError(error: ErrorFrame): string {
  switch (error.code) {
    case 'busy':
      return 'An answer is already being written in this conversation. Wait for it or stop it.';
    case 'rate_limited':
      return `Too many messages. Try again in ${Math.ceil(error.retry_after ?? 1)} s.`;
    case 'too_many_answers':
      return `${error.message} (Answers in your other chats count too.)`;
    case 'too_long':
      return `The message is too long. ${error.message}`;
    case 'bad_request':
      return `The server refused the request: ${error.message}`;
    case 'unknown_model':
      return `${error.message} Pick a model in the header.`;
    case 'internal':
      return 'Something went wrong on the server. Try again.';
    default:
      return error.message || error.code;
  }
}

export function ErrorBanner({ error, onDismiss }: { error: ErrorFrame; onDismiss: () => void }) {
  return (
    <div
      role="alert"
      className="flex items-start gap-2 rounded-md border border-rose-300 bg-rose-50 px-3 py-2 text-sm text-rose-800 dark:border-rose-900 dark:bg-rose-950 dark:text-rose-200"
    >
      <p className="flex-1">{describeError(error)}</p>
      <IconButton label="Dismiss error" onClick={onDismiss}>
        <CloseIcon />
      </IconButton>
    </div>
  );
}
