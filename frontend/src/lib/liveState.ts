/**
 * Small cross-feature signals (features do not import each other):
 * which conversations are streaming right now, and "the list of conversations changed".
 */
import { useSyncExternalStore } from 'react';

type Listener = () => void;

function createStore<T>(initial: T) {
  let value = initial;
  const listeners = new Set<Listener>();
  return {
    get: () => value,
    set(next: T) {
      if (Object.is(next, value)) return;
      value = next;
      listeners.forEach((l) => l());
    },
    subscribe(listener: Listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

const streaming = createStore<ReadonlySet<string>>(new Set());

export function setConversationStreaming(id: string, isStreaming: boolean): void {
  const current = streaming.get();
  if (current.has(id) === isStreaming) return;
  const next = new Set(current);
  if (isStreaming) next.add(id);
  else next.delete(id);
  streaming.set(next);
}

export function useStreamingConversations(): ReadonlySet<string> {
  return useSyncExternalStore(streaming.subscribe, streaming.get);
}

const listVersion = createStore(0);

// Other tabs of this browser refetch too (a pin, an archive, a folder made in one shows in all).
const tabs = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel('chat-conversations');
if (tabs) {
  tabs.onmessage = () => listVersion.set(listVersion.get() + 1);
  (tabs as { unref?: () => void }).unref?.(); // Node's (tests): do not keep the process alive
}

/** Tell conversation lists to refetch (a title changed, a chat was created, deleted, pinned,
 * archived or filed), here and in the browser's other tabs. */
export function conversationsChanged(): void {
  listVersion.set(listVersion.get() + 1);
  tabs?.postMessage('changed');
}

export function useConversationsVersion(): number {
  return useSyncExternalStore(listVersion.subscribe, listVersion.get);
}

const authLost = createStore(false);

/** The server said we are not logged in (socket 4001 or an API 401). */
export function setAuthLost(lost: boolean): void {
  authLost.set(lost);
}

export function useAuthLost(): boolean {
  return useSyncExternalStore(authLost.subscribe, authLost.get);
}
