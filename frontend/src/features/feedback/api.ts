import { request } from '../../lib/api';
import type { Feedback, Rating } from './protocol';

export interface MessageFeedback {
  message_id: string;
  feedback: Feedback | null;
}

export function putFeedback(
  messageId: string,
  body: { rating: Rating; reason?: string | null; comment?: string },
): Promise<MessageFeedback> {
  return request('PUT', `/api/messages/${messageId}/feedback/`, body);
}

export function deleteFeedback(messageId: string): Promise<MessageFeedback> {
  return request('DELETE', `/api/messages/${messageId}/feedback/`);
}

export function getConversationFeedback(conversationId: string): Promise<{ items: Record<string, Feedback> }> {
  return request('GET', `/api/conversations/${conversationId}/feedback/`);
}
