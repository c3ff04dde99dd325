import { useEffect, useState } from 'react';
import { Button } from '../../../components/ui/Button';
import { Dialog } from '../../../components/ui/Dialog';
import { ApiError, createShare, listShares, revokeShare } from '../../../lib/api';
import type { ShareLink } from '../../../lib/protocol';

const absolute = (url: string) => new URL(url, window.location.origin).toString();

/** Make a read-only link to the conversation as it is now; see and revoke its links. */
export function ShareButton({ conversationId }: { conversationId: string }) {
  const [open, setOpen] = useState(false);
  const [links, setLinks] = useState<ShareLink[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);

  useEffect(() => {
    if (!open) return;
    listShares(conversationId).then(setLinks, () => setLinks([]));
  }, [open, conversationId]);

  const run = async (action: () => Promise<void>) => {
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'That did not work.');
    }
  };

  const copy = async (link: ShareLink) => {
    await navigator.clipboard?.writeText(absolute(link.url)).catch(() => undefined);
    setCopied(link.token);
  };

  return (
    <>
      <Button onClick={() => setOpen(true)} aria-haspopup="dialog">
        Share
      </Button>
      <Dialog title="Share this conversation" open={open} onClose={() => setOpen(false)}>
        <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
          A link shows the conversation as it is now, read-only: later messages do not appear. Anyone logged in here can
          open it (or anyone at all, if the server allows public links).
        </p>
        <Button
          variant="primary"
          onClick={() =>
            void run(async () => {
              const link = await createShare(conversationId);
              setLinks((all) => [link, ...all]);
              await copy(link);
            })
          }
        >
          Create link
        </Button>
        {error && (
          <p role="alert" className="mt-2 text-sm text-rose-600">
            {error}
          </p>
        )}
        <ul aria-label="Links to this conversation" className="mt-3 space-y-2">
          {links.map((link) => (
            <li key={link.token} className="flex flex-wrap items-center gap-2 text-sm">
              <input
                readOnly
                value={absolute(link.url)}
                aria-label="Share link"
                className="min-w-0 flex-1 rounded border border-zinc-300 px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
                onFocus={(event) => event.target.select()}
              />
              <Button onClick={() => void copy(link)}>{copied === link.token ? 'Copied' : 'Copy'}</Button>
              <Button
                variant="danger"
                onClick={() =>
                  void run(async () => {
                    await revokeShare(link.token);
                    setLinks((all) => all.filter((other) => other.token !== link.token));
                  })
                }
              >
                Revoke
              </Button>
            </li>
          ))}
        </ul>
        <div className="mt-4 text-right">
          <Button onClick={() => setOpen(false)}>Close</Button>
        </div>
      </Dialog>
    </>
  );
}
