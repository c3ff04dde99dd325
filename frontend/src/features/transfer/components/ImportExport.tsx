import { useRef } from 'react';
import { Button } from '../../../components/ui/Button';
import { BULK_EXPORT_URL } from '../../../lib/api';
import type { ImportJob } from '../../../lib/protocol';
import { useImport } from '../useImport';

function Progress({ job }: { job: ImportJob }) {
  if (job.status === 'failed') {
    return (
      <p role="alert" className="text-sm text-rose-600">
        Import failed, nothing was imported: {job.error}
      </p>
    );
  }
  if (job.status === 'done') {
    const skipped = job.skipped ? ` (${job.skipped} already here, skipped)` : '';
    return (
      <p role="status" className="text-sm text-emerald-700 dark:text-emerald-400">
        Imported {job.imported} conversation{job.imported === 1 ? '' : 's'}
        {skipped}.
      </p>
    );
  }
  const label = job.phase === 'saving' ? 'Saving…' : `Reading ${job.done}${job.total ? ` of ${job.total}` : ''}…`;
  return (
    <div className="flex items-center gap-2 text-sm text-zinc-600 dark:text-zinc-400">
      <progress
        aria-label="Import progress"
        className="h-2 w-40"
        {...(job.total && job.phase === 'reading' ? { value: job.done, max: job.total } : {})}
      />
      <span role="status">{label}</span>
    </div>
  );
}

/** Import a file (ChatGPT's export or this app's) and download every conversation as a zip. */
export function ImportExport() {
  const { data, loading, actions } = useImport();
  const input = useRef<HTMLInputElement>(null);
  return (
    <div className="mb-3 space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        <input
          ref={input}
          type="file"
          accept=".json,.zip,application/json,application/zip"
          aria-label="Conversations file to import"
          className="sr-only"
          onChange={(event) => {
            const file = event.target.files?.[0];
            if (file) void actions.start(file);
            event.target.value = '';
          }}
        />
        <Button onClick={() => input.current?.click()} disabled={loading}>
          Import conversations…
        </Button>
        <a href={BULK_EXPORT_URL} download className="text-sm text-sky-700 underline dark:text-sky-400">
          Export all (zip)
        </a>
        <span className="text-xs text-zinc-500">ChatGPT&apos;s export (conversations.json or its zip) or this app&apos;s.</span>
      </div>
      {data.error && (
        <p role="alert" className="text-sm text-rose-600">
          {data.error}
        </p>
      )}
      {data.job && <Progress job={data.job} />}
    </div>
  );
}
