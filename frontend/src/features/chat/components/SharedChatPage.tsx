import { useEffect, useState } from 'react';
import { useNavigate } from 'react-router';
import { Button } from '../../../components/ui/Button';
import { ApiError, copyShared, getShared } from '../../../lib/api';
import { readBootstrap } from '../../../lib/bootstrap';
import type { SharedConversation } from '../../../lib/protocol';
import { Markdown } from './Markdown';

/** A share link's page: the conversation as it was shared, read-only, and "continue". */
export function SharedChatPage({ token }: { token: string }) {
  const [shared, setShared] = useState<SharedConversation | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copying, setCopying] = useState(false);
  const navigate = useNavigate();
  const { username, loginUrl } = readBootstrap();

  useEffect(() => {
    getShared(token).then(setShared, (caught) =>
      setError(caught instanceof ApiError && caught.status === 404 ? 'This link does not exist or was revoked.' : 'The conversation could not be loaded.'),
    );
  }, [token]);

  useEffect(() => {
    if (shared) document.title = `${shared.title || 'Shared chat'} (shared)`;
  }, [shared]);

  const continueHere = async () => {
    setCopying(true);
    try {
      const { conversation_id } = await copyShared(token);
      navigate(`/c/${conversation_id}`);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'The copy failed.');
      setCopying(false);
    }
  };

  if (error) {
    return (
      <main className="mx-auto max-w-3xl p-6" role="alert">
        {error}
      </main>
    );
  }
  if (!shared) return <main className="mx-auto max-w-3xl p-6 text-zinc-500">Loading…</main>;
  return (
    <main id="main" className="mx-auto max-w-3xl space-y-4 p-6">
      <header className="space-y-1 border-b border-zinc-200 pb-3 dark:border-zinc-800">
        <h1 className="text-xl font-semibold">{shared.title || 'Shared chat'}</h1>
        <p className="text-sm text-zinc-500">
          Shared by {shared.shared_by} on {new Date(shared.created_at).toLocaleString()} · read-only
        </p>
        {username ? (
          <Button variant="primary" onClick={() => void continueHere()} disabled={copying}>
            Continue in my chats
          </Button>
        ) : (
          <a className="text-sm text-sky-700 underline dark:text-sky-400" href={`${loginUrl}?next=${encodeURIComponent(window.location.pathname)}`}>
            Log in to continue this conversation
          </a>
        )}
      </header>
      <ol aria-label="Shared messages" className="space-y-4">
        {shared.messages.map((message, index) => (
          <li key={index} className={message.role === 'user' ? 'flex justify-end' : ''}>
            {message.role === 'user' ? (
              <div className="max-w-[85%] rounded-2xl bg-zinc-100 px-4 py-2 whitespace-pre-wrap break-words dark:bg-zinc-800">
                {message.content}
              </div>
            ) : (
              <article aria-label="Assistant answer">
                <Markdown text={message.content} />
                {message.model && <span className="text-xs text-zinc-400">{message.model}</span>}
              </article>
            )}
          </li>
        ))}
      </ol>
    </main>
  );
}
