import { useEffect } from 'react';

export const SHORTCUTS: Array<{ keys: string; action: string }> = [
  { keys: 'Ctrl/⌘ + Shift + O', action: 'New chat' },
  { keys: 'Ctrl/⌘ + K', action: 'Search history' },
  { keys: 'Enter', action: 'Send message' },
  { keys: 'Shift + Enter', action: 'New line in the message' },
  { keys: 'Esc', action: 'Close dialog or menu' },
  { keys: '?', action: 'Show this help' },
];

interface Handlers {
  newChat: () => void;
  search: () => void;
  help: () => void;
}

function typingIn(target: EventTarget | null) {
  const element = target as HTMLElement | null;
  return Boolean(
    element && (element.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(element.tagName)),
  );
}

/** Global keyboard shortcuts (listed in SHORTCUTS). */
export function useShortcuts({ newChat, search, help }: Handlers) {
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      if (mod && event.shiftKey && key === 'o') {
        event.preventDefault();
        newChat();
      } else if (mod && !event.shiftKey && key === 'k') {
        event.preventDefault();
        search();
      } else if (event.key === '?' && !mod && !typingIn(event.target)) {
        event.preventDefault();
        help();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [newChat, search, help]);
}
