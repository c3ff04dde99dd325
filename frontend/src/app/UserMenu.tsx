import { useEffect, useId, useRef, useState } from 'react';
import { readBootstrap } from '../lib/bootstrap';
import { UsageSummary } from '../features/usage';
import { csrfToken } from '../lib/csrf';

/** The username, with a menu holding the user's usage and the logout form (a POST, as Django requires). */
export function UserMenu() {
  const { username, logoutUrl } = readBootstrap();
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (event: MouseEvent | KeyboardEvent) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !root.current?.contains(event.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  return (
    <div ref={root} className="relative">
      <button
        type="button"
        aria-expanded={open}
        aria-controls={menuId}
        aria-label={`User menu for ${username || 'you'}`}
        onClick={() => setOpen(!open)}
        className="flex w-full items-center gap-2 rounded-md px-3 py-2 text-left text-sm hover:bg-zinc-200/70 dark:hover:bg-zinc-800"
      >
        <span
          aria-hidden="true"
          className="flex h-6 w-6 items-center justify-center rounded-full bg-sky-600 text-xs font-semibold text-white uppercase"
        >
          {username.slice(0, 1) || '?'}
        </span>
        <span className="truncate">{username}</span>
      </button>
      {open && (
        <div
          id={menuId}
          className="absolute bottom-full left-0 mb-1 w-full rounded-md border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
        >
          <UsageSummary />
          <form method="post" action={logoutUrl}>
            <input type="hidden" name="csrfmiddlewaretoken" value={csrfToken()} />
            <button
              type="submit"
              className="w-full rounded px-3 py-2 text-left text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800"
            >
              Log out
            </button>
          </form>
        </div>
      )}
    </div>
  );
}
