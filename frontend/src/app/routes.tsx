import { useCallback, useMemo } from 'react';
import { useLocation, useNavigate, useParams } from 'react-router';
import { ChatPage, SharedChatPage } from '../features/chat';
import { FeedbackControls, useConversationFeedback } from '../features/feedback';
import { HistoryPage } from '../features/history';
import { ImportExport } from '../features/transfer';
import type { Message } from '../lib/protocol';
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
  return <ChatWithFeedback key={id} conversationId={id} isNew={isNew} onStarted={onStarted} />;
}

/** The chat page with ratings on its answers (features meet here, not in each other). */
function ChatWithFeedback(props: { conversationId: string; isNew: boolean; onStarted: () => void }) {
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
