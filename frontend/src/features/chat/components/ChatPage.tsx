import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link } from 'react-router';
import { organizeConversation } from '../../../lib/api';
import { conversationsChanged } from '../../../lib/liveState';
import { CLOSE_FORBIDDEN, CLOSE_NOT_LOGGED_IN, type ConversationSettings, type Message } from '../../../lib/protocol';
import { shownTurns } from '../branch';
import { useChatSettings } from '../useChatSettings';
import { useConversationSocket } from '../useConversationSocket';
import { useDraft } from '../useDraft';
import { Composer } from './Composer';
import { ConnectionBadge } from './ConnectionBadge';
import { ErrorBanner } from './ErrorBanner';
import { MessageList } from './MessageList';
import { ModelPicker } from './ModelPicker';
import { SettingsPanel } from './SettingsPanel';
import { ShareButton } from './ShareDialog';

interface ChatPageProps {
  conversationId: string;
  /** On `/`: the conversation does not exist until the first message. */
  isNew?: boolean;
  /** Called once the first message of a new chat is stored (to put /c/<id> in the URL). */
  onStarted?: () => void;
  /** Frames of other features on the conversation's socket (e.g. message.feedback). */
  onOtherFrame?: (text: string) => void;
  /** Shown with each finished answer's actions (other features' controls, e.g. ratings). */
  answerExtras?: (answer: Message) => ReactNode;
  /** A new chat started in a folder: it goes into the folder, with the folder's defaults. */
  startIn?: { folderId: string; settings: Partial<ConversationSettings> };
}

export function ChatPage({ conversationId, isNew = false, onStarted, onOtherFrame, answerExtras, startIn }: ChatPageProps) {
  const { data, loading, actions } = useConversationSocket(conversationId, onOtherFrame);
  // A new chat's draft lives under one key (abandoned new chats leave no litter) and
  // moves to the conversation's own key once the chat exists.
  const { draft, setDraft } = useDraft(isNew ? 'new' : conversationId);
  const composer = useRef<HTMLTextAreaElement>(null);
  const lastSent = useRef<{ clientId: string; content: string } | null>(null);
  const { chat, connection, closedWith, streaming } = data;
  const draftRef = useRef(draft);
  draftRef.current = draft;
  const chatSettings = useChatSettings(chat.conversation, startIn?.settings);
  const [settingsOpen, setSettingsOpen] = useState(false);

  useEffect(() => {
    composer.current?.focus();
  }, [conversationId]);

  const turns = useMemo(() => shownTurns(chat.messages, chat.shownLeaf), [chat.messages, chat.shownLeaf]);
  const started = chat.messages.length > 0;
  useEffect(() => {
    if (started) onStarted?.();
  }, [started, onStarted]);
  // Filed once it exists (a PATCH; the lists refetch).
  const filed = useRef(false);
  const folderId = startIn?.folderId;
  useEffect(() => {
    if (!started || !folderId || filed.current) return;
    filed.current = true;
    organizeConversation(conversationId, { folder_id: folderId }).then(conversationsChanged, () => undefined);
  }, [started, folderId, conversationId]);

  // A refused send gives its text back to the composer, unless the user typed anew.
  const error = chat.error;
  useEffect(() => {
    const sent = lastSent.current;
    if (error?.client_id && sent?.clientId === error.client_id && !draft) {
      setDraft(sent.content);
      lastSent.current = null;
    }
  }, [error, draft, setDraft]);

  // The session ended: what was sent but not stored goes back to the composer, to be sent
  // (or not) by the user once logged in again, never silently after the re-login.
  const { takeUnsent } = actions;
  useEffect(() => {
    if (closedWith !== CLOSE_NOT_LOGGED_IN) return;
    const unsent = takeUnsent();
    if (unsent.length) setDraft([...unsent, draftRef.current].filter(Boolean).join('\n\n'));
  }, [closedWith, takeUnsent, setDraft]);

  useEffect(() => {
    if (chat.conversation?.title) document.title = chat.conversation.title;
    return () => {
      document.title = 'Chat';
    };
  }, [chat.conversation?.title]);

  if (closedWith === CLOSE_FORBIDDEN) {
    return (
      <div className="m-auto max-w-md p-6 text-center" role="alert">
        <h1 className="mb-2 text-xl font-semibold">Conversation not found</h1>
        <p className="mb-4 text-zinc-600 dark:text-zinc-400">
          This conversation does not exist or is not yours.
        </p>
        <Link to="/" className="text-sky-700 underline dark:text-sky-400">
          Start a new chat
        </Link>
      </div>
    );
  }

  // The composer continues the branch shown here (another tab may have switched meanwhile);
  // queued sends follow each other on the server's shown branch.
  const lastTurn = turns[turns.length - 1];
  const send = (content: string) => {
    const tip = lastTurn?.answer ?? undefined;
    const clientId = actions.send(content, chatSettings.data.firstSend, tip && chat.pending.length === 0 ? tip.id : undefined);
    lastSent.current = { clientId, content };
    setDraft('');
  };
  const edit = (message: Message, content: string) => {
    const clientId = actions.send(content, undefined, message.parent_id);
    lastSent.current = { clientId, content };
  };

  const title = chat.conversation?.title || (started ? 'New conversation' : 'New chat');

  return (
    <div className="flex h-full min-h-0 flex-col">
      <header className="flex items-center gap-3 border-b border-zinc-200 px-4 py-2 dark:border-zinc-800">
        <h1 className="min-w-0 flex-1 truncate font-medium">{title}</h1>
        <ModelPicker
          catalogue={chatSettings.data.catalogue}
          value={chatSettings.data.current?.model ?? null}
          disabled={chatSettings.data.saving}
          onChange={(model) => void chatSettings.actions.choose({ model })}
        />
        <button
          type="button"
          className="rounded-md px-2 py-1 text-sm text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
          aria-expanded={settingsOpen}
          onClick={() => setSettingsOpen((open) => !open)}
        >
          Settings
        </button>
        {chat.conversation && <ShareButton conversationId={conversationId} />}
        <ConnectionBadge state={connection} />
      </header>
      {settingsOpen && chatSettings.data.current && (
        <SettingsPanel
          key={`${chat.conversation?.id ?? 'new'}|${chatSettings.data.current.system_prompt}|${chatSettings.data.current.temperature}`}
          settings={chatSettings.data.current}
          saving={chatSettings.data.saving}
          onSave={(next) => {
            void chatSettings.actions.choose(next);
            setSettingsOpen(false);
          }}
          onClose={() => setSettingsOpen(false)}
        />
      )}
      {(chatSettings.data.error || chatSettings.data.withdrawn) && (
        <p role="alert" className="px-4 py-1 text-sm text-amber-700 dark:text-amber-400">
          {chatSettings.data.error ?? 'This chat\'s model is no longer offered: pick another to go on.'}
        </p>
      )}
      {loading && !started ? (
        <p className="m-auto text-zinc-500">{connection === 'online' ? 'Loading…' : 'Connecting…'}</p>
      ) : turns.length === 0 && chat.pending.length === 0 ? (
        <div className="m-auto p-6 text-center text-zinc-500">
          <p className="text-lg">What can I help with?</p>
          <p className="mt-1 text-sm">Press ? for keyboard shortcuts.</p>
        </div>
      ) : (
        <MessageList
          turns={turns}
          pending={chat.pending}
          canRegenerate={!streaming && connection === 'online'}
          onRegenerate={actions.regenerate}
          onSwitch={actions.switchBranch}
          onEdit={edit}
          answerExtras={answerExtras}
        />
      )}
      <div className="mx-auto w-full max-w-3xl space-y-2 px-4 pt-2 pb-4">
        {error && <ErrorBanner error={error} onDismiss={actions.dismissError} />}
        <Composer
          ref={composer}
          draft={draft}
          onDraftChange={setDraft}
          onSend={send}
          onStop={actions.stop}
          streaming={Boolean(streaming)}
        />
      </div>
    </div>
  );
}
