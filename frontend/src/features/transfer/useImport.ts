import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, getImport, startImport } from '../../lib/api';
import { conversationsChanged } from '../../lib/liveState';
import type { ImportJob } from '../../lib/protocol';

const POLL_MS = 500;

/**
 * One import at a time: upload, then follow the job until it ends. The conversation lists
 * refresh when something came in. Returns `{data, loading, actions}`.
 */
export function useImport(poll = POLL_MS) {
  const [job, setJob] = useState<ImportJob | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [uploading, setUploading] = useState(false);
  const alive = useRef(true);
  useEffect(() => () => {
    alive.current = false;
  }, []);

  const follow = useCallback(
    async (started: ImportJob) => {
      let current = started;
      while (alive.current && current.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, poll));
        try {
          current = await getImport(current.id);
        } catch (caught) {
          setError(caught instanceof ApiError ? caught.message : 'The import could not be followed.');
          return;
        }
        if (alive.current) setJob(current);
      }
      if (current.status === 'done' && current.imported > 0) conversationsChanged();
    },
    [poll],
  );

  const start = useCallback(
    async (file: File) => {
      setError(null);
      setJob(null);
      setUploading(true);
      try {
        const started = await startImport(file);
        setJob(started);
        setUploading(false);
        await follow(started);
      } catch (caught) {
        setUploading(false);
        setError(caught instanceof ApiError ? caught.message : 'The upload failed.');
      }
    },
    [follow],
  );

  return { data: { job, error }, loading: uploading || job?.status === 'running', actions: { start } };
}
