import { useCallback, useEffect, useMemo, useReducer } from 'react';
import { deleteFeedback, getConversationFeedback, putFeedback } from './api';
import { parseFeedbackFrame, type Rating } from './protocol';
import { ratingsReducer } from './state';

/**
 * The user's ratings of one conversation: `{data, actions, onFrame}`. Pass `onFrame` the
 * conversation socket's frames that chat does not handle (other tabs' ratings arrive so).
 */
export function useConversationFeedback(conversationId: string, enabled = true) {
  const [ratings, dispatch] = useReducer(ratingsReducer, {});

  useEffect(() => {
    if (!enabled) return;
    let live = true;
    getConversationFeedback(conversationId)
      .then(({ items }) => live && dispatch({ type: 'loaded', items }))
      .catch(() => undefined); // a new chat (404 before it exists) has no ratings
    return () => {
      live = false;
    };
  }, [conversationId, enabled]);

  const onFrame = useCallback((text: string) => {
    const frame = parseFeedbackFrame(text);
    if (frame) dispatch({ type: 'set', messageId: frame.message_id, feedback: frame.feedback });
  }, []);

  const actions = useMemo(
    () => ({
      rate: async (messageId: string, rating: Rating, reason: string | null = null, comment = '') => {
        const answer = await putFeedback(messageId, { rating, reason, comment });
        dispatch({ type: 'set', messageId, feedback: answer.feedback });
      },
      withdraw: async (messageId: string) => {
        await deleteFeedback(messageId);
        dispatch({ type: 'set', messageId, feedback: null });
      },
    }),
    [],
  );

  return { data: ratings, actions, onFrame };
}
