import { useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import {
  conversationsChanged,
  setAuthLost,
  setConversationStreaming,
  useAuthLost,
} from '../../lib/liveState';
import { CLOSE_NOT_LOGGED_IN, type ConversationSettings } from '../../lib/protocol';
import { ChatConnection, type ChatView } from './chatConnection';
import { streamingMessage } from './reducer';

/**
 * The live state of one conversation over its WebSocket.
 * Returns `{data, loading, actions}`; `data.closedWith` is 4003 for someone else's chat.
 */
export function useConversationSocket(conversationId: string, onOtherFrame?: (text: string) => void) {
  // The latest callback, without a new connection when it changes.
  const otherFrame = useRef(onOtherFrame);
  otherFrame.current = onOtherFrame;
  const connection = useMemo(
    () => new ChatConnection({ conversationId, onOtherFrame: (text) => otherFrame.current?.(text) }),
    [conversationId],
  );
  const view: ChatView = useSyncExternalStore(connection.subscribe, connection.getView);
  const authLost = useAuthLost();

  useEffect(() => {
    connection.start();
    return () => connection.stop();
  }, [connection]);

  // 4001: ask for a login; when the dialog reports success, connect again.
  useEffect(() => {
    if (view.closedWith === CLOSE_NOT_LOGGED_IN) setAuthLost(true);
  }, [view.closedWith]);
  const wasLost = useRef(authLost);
  useEffect(() => {
    if (wasLost.current && !authLost && connection.getView().closedWith === CLOSE_NOT_LOGGED_IN) {
      connection.start();
    }
    wasLost.current = authLost;
  }, [authLost, connection]);

  const streaming = streamingMessage(view.chat);
  const isStreaming = Boolean(streaming);
  useEffect(() => {
    setConversationStreaming(conversationId, isStreaming);
    return () => setConversationStreaming(conversationId, false);
  }, [conversationId, isStreaming]);

  // The sidebar refetches when this conversation is created, titled or renamed, or has
  // new activity (it is ordered by latest activity).
  const conversationStamp = view.chat.conversation
    ? `${view.chat.conversation.title}|${view.chat.conversation.updated_at}|${view.chat.messages.length}|${isStreaming}`
    : '';
  useEffect(() => {
    if (conversationStamp) conversationsChanged();
  }, [conversationStamp]);

  const actions = useMemo(
    () => ({
      /** `parentId`: the answer it follows (null: a new first message); absent: the shown branch. */
      send: (content: string, settings?: Partial<ConversationSettings>, parentId?: string | null) =>
        connection.sendMessage(content, undefined, settings, parentId),
      stop: () => connection.stopGeneration(),
      regenerate: (messageId?: string) => connection.regenerate(messageId),
      switchBranch: (messageId: string) => connection.switchBranch(messageId),
      dismissError: () => connection.dismissError(),
      takeUnsent: () => connection.takeUnsent(),
    }),
    [connection],
  );

  return {
    data: { ...view, streaming },
    loading: !view.chat.loaded,
    actions,
  };
}
