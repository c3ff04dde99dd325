import { useCallback, useEffect, useMemo, useState } from 'react';
import { useLocation, useNavigate, useParams, useSearchParams } from 'react-router';
import { ChatPage, SharedChatPage } from '../features/chat';
import { FeedbackControls, useConversationFeedback } from '../features/feedback';
import { HistoryPage } from '../features/history';
import { ImportExport } from '../features/transfer';
import { listFolders } from '../lib/api';
import type { ConversationSettings, Message } from '../lib/protocol';
import { newUuid } from '../lib/uuid';

/**
 * `/` (a new chat with a fresh id, new on every navigation to `/`) and `/c/<id>`.
 * Both render ChatPage keyed by the id, so replacing `/` with `/c/<id>` after the first
 * message keeps the same page and socket.
 */
export function ChatRoute() {
  const { conversationId } = useParams();
  const [searchParams] = useSearchParams();
  const location = useLocation();
  const navigate = useNavigate();
  const freshId = useMemo(() => newUuid(), [location.key]);
  const id = conversationId ?? freshId;
  const isNew = conversationId === undefined;
  const onStarted = useCallback(() => {
    if (isNew) navigate(`/c/${id}`, { replace: true });
  }, [isNew, id, navigate]);
  const startIn = useFolderStart(isNew ? searchParams.get('folder') : null);
  return <ChatWithFeedback key={id} conversationId={id} isNew={isNew} onStarted={onStarted} startIn={startIn} />;
}

/** `/?folder=<id>`: a new chat in that folder, with the folder's defaults (model, prompt). */
function useFolderStart(folderId: string | null) {
  const [settings, setSettings] = useState<Partial<ConversationSettings> | null>(null);
  useEffect(() => {
    setSettings(null);
    if (!folderId) return;
    let live = true;
    listFolders().then((folders) => {
      const folder = Array.isArray(folders) ? folders.find((f) => f.id === folderId) : undefined;
      if (!live || !folder) return;
      setSettings({ ...(folder.model ? { model: folder.model } : {}), ...(folder.system_prompt ? { system_prompt: folder.system_prompt } : {}) });
    }, () => undefined);
    return () => {
      live = false;
    };
  }, [folderId]);
  // Filed even when sent before the defaults arrive.
  return useMemo(() => (folderId ? { folderId, settings: settings ?? {} } : undefined), [folderId, settings]);
}

/** The chat page with ratings on its answers (features meet here, not in each other). */
function ChatWithFeedback(props: {
  conversationId: string;
  isNew: boolean;
  onStarted: () => void;
  startIn?: { folderId: string; settings: Partial<ConversationSettings> };
}) {
  const feedback = useConversationFeedback(props.conversationId, !props.isNew);
  const { rate, withdraw } = feedback.actions;
  const answerExtras = useCallback(
    (answer: Message) => (
      <FeedbackControls messageId={answer.id} feedback={feedback.data[answer.id]} onRate={rate} onWithdraw={withdraw} />
    ),
    [feedback.data, rate, withdraw],
  );
  return <ChatPage {...props} onOtherFrame={feedback.onFrame} answerExtras={answerExtras} />;
}

export function HistoryRoute() {
  return <HistoryPage tools={<ImportExport />} />;
}

export function SharedRoute() {
  const { token } = useParams();
  return <SharedChatPage token={token ?? ''} />;
}
