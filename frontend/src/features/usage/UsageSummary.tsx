import { useEffect, useState } from 'react';
import { getMyUsage, type MyUsage } from './api';
import { formatUsage } from './format';

/** The user's usage today and this month (UTC), read when shown. */
export function UsageSummary() {
  const [usage, setUsage] = useState<MyUsage | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    let live = true;
    getMyUsage().then(
      (value) => live && setUsage(value),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, []);

  if (failed) return null;
  return (
    <dl aria-label="Your usage" className="px-3 py-2 text-xs text-zinc-600 dark:text-zinc-400">
      {usage ? (
        <>
          <dt className="font-medium text-zinc-800 dark:text-zinc-200">Today</dt>
          <dd>{formatUsage(usage.today, usage.currency)}</dd>
          <dt className="mt-1 font-medium text-zinc-800 dark:text-zinc-200">This month</dt>
          <dd>{formatUsage(usage.month, usage.currency)}</dd>
        </>
      ) : (
        <dd>Loading usage…</dd>
      )}
    </dl>
  );
}
