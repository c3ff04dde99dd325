import { useState, type FormEvent } from 'react';
import { ApiError, login } from '../lib/api';
import { readBootstrap } from '../lib/bootstrap';
import { conversationsChanged, setAuthLost, useAuthLost } from '../lib/liveState';
import { Button } from './ui/Button';
import { Dialog } from './ui/Dialog';

const inputClass =
  'mt-1 w-full rounded-md border border-zinc-300 bg-white px-2 py-1.5 dark:border-zinc-700 dark:bg-zinc-950';

/**
 * Shown when the session ended (socket close 4001 or an API 401). Logs in without
 * leaving the page, so the open conversation and its draft stay; listeners of
 * `useAuthLost` reconnect when it closes.
 */
export function ReloginDialog() {
  const lost = useAuthLost();
  const { username: knownUser, loginUrl } = readBootstrap();
  const [username, setUsername] = useState(knownUser);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(loginUrl, username, password);
      setPassword('');
      setAuthLost(false);
      conversationsChanged();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'Login failed.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog title="Your session ended" open={lost}>
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">
        Log in again to continue. Your draft is kept.
      </p>
      <form onSubmit={submit} className="space-y-3">
        <label className="block text-sm">
          Username
          <input
            className={inputClass}
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
          />
        </label>
        <label className="block text-sm">
          Password
          <input
            className={inputClass}
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        {error && (
          <p role="alert" className="text-sm text-rose-600 dark:text-rose-400">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <a href={loginUrl} className="self-center text-sm text-sky-700 underline dark:text-sky-400">
            Login page
          </a>
          <Button variant="primary" type="submit" disabled={busy}>
            {busy ? 'Logging in…' : 'Log in'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
