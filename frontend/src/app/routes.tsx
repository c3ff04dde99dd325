import { useCallback, useMemo } from 'react';
import { useLocation, useNavigate, useParams } from 'react-router';
import { ChatPage, SharedChatPage } from '../features/chat';
import { HistoryPage } from '../features/history';
import { ImportExport } from '../features/transfer';
import { newUuid } from '../lib/uuid';

/**
 * `/` (a new chat with a fresh id, new on every navigation to `/`) and `/c/<id>`.
 * Both render ChatPage keyed by the id, so replacing `/` with `/c/<id>` after the first
 * message keeps the same page and socket.
 */
export function ChatRoute() {
  const { conversationId } = useParams();
  const location = useLocation();
  const navigate = useNavigate();
  const freshId = useMemo(() => newUuid(), [location.key]);
  const id = conversationId ?? freshId;
  const isNew = conversationId === undefined;
  const onStarted = useCallback(() => {
    if (isNew) navigate(`/c/${id}`, { replace: true });
  }, [isNew, id, navigate]);
  return <ChatPage key={id} conversationId={id} isNew={isNew} onStarted={onStarted} />;
}

export function HistoryRoute() {
  return <HistoryPage tools={<ImportExport />} />;
}

export function SharedRoute() {
  const { token } = useParams();
  return <SharedChatPage token={token ?? ''} />;
}
