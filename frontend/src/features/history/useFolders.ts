import { useCallback, useEffect, useState } from 'react';
import { ApiError, createFolder, deleteFolder, listFolders, updateFolder } from '../../lib/api';
import { conversationsChanged, useConversationsVersion } from '../../lib/liveState';
import type { Folder } from '../../lib/protocol';

/** The user's folders (with counts), refetched whenever conversations change; `{data, loading, error, actions}`. */
export function useFolders() {
  const [folders, setFolders] = useState<Folder[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const version = useConversationsVersion();

  useEffect(() => {
    let live = true;
    listFolders()
      .then((list) => live && (setFolders(Array.isArray(list) ? list : []), setError(null)))
      .catch((caught) => live && setError(caught instanceof ApiError ? caught.message : 'Could not load folders.'))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [version]);

  const changed = () => conversationsChanged(); // folders and the lists that show them
  const create = useCallback(async (name: string) => {
    await createFolder(name);
    changed();
  }, []);
  const rename = useCallback(async (id: string, name: string) => {
    await updateFolder(id, { name });
    changed();
  }, []);
  const update = useCallback(async (id: string, changes: { model?: string; system_prompt?: string }) => {
    await updateFolder(id, changes);
    changed();
  }, []);
  const remove = useCallback(async (id: string) => {
    await deleteFolder(id);
    changed();
  }, []);

  return { data: folders, loading, error, actions: { create, rename, update, remove } };
}
