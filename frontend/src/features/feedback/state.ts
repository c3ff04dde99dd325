/**
 * The user's ratings in one conversation, by message id. Pure: loaded once, then kept
 * current by this tab's answers and by `message.feedback` frames from other tabs. A frame
 * carries the whole rating, so the newest (by updated_at) wins whatever the order.
 */
import type { Feedback } from './protocol';

export type Ratings = Record<string, Feedback | null>;

export type FeedbackAction =
  | { type: 'loaded'; items: Record<string, Feedback> }
  | { type: 'set'; messageId: string; feedback: Feedback | null };

export function ratingsReducer(state: Ratings, action: FeedbackAction): Ratings {
  if (action.type === 'loaded') {
    // What arrived over the socket while the list loaded is newer: keep it.
    return { ...action.items, ...state };
  }
  const current = state[action.messageId];
  const next = action.feedback;
  if (current && next && next.updated_at < current.updated_at) return state; // stale
  return { ...state, [action.messageId]: next };
}
