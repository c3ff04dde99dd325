/**
 * Feedback's additions to the wire contract (mirror of src/feedback/protocol.py;
 * docs/protocol.md, docs/api.md).
 */

export type Rating = 'up' | 'down';

export interface Feedback {
  rating: Rating;
  reason: string | null;
  comment: string;
  updated_at: string;
}

/** Server -> client on the conversation's socket: set, changed, or withdrawn (null). */
export const MESSAGE_FEEDBACK = 'message.feedback';
export interface MessageFeedbackFrame {
  type: typeof MESSAGE_FEEDBACK;
  message_id: string;
  feedback: Feedback | null;
}

export const COMMENT_MAX = 2000;

/** Which reasons go with which rating (a reason is optional). */
export const REASONS: Record<Rating, readonly string[]> = {
  up: ['helpful', 'accurate', 'well_written'],
  down: ['inaccurate', 'unhelpful', 'incomplete', 'unsafe', 'other'],
};

export function reasonLabel(reason: string): string {
  return reason.replace('_', ' ').replace(/^./, (c) => c.toUpperCase());
}

/** A `message.feedback` frame, or null for any other text. */
export function parseFeedbackFrame(text: string): MessageFeedbackFrame | null {
  if (!text.includes(`"${MESSAGE_FEEDBACK}"`)) return null; // most frames: no parse
  try {
    const value = JSON.parse(text) as Partial<MessageFeedbackFrame>;
    if (value.type === MESSAGE_FEEDBACK && typeof value.message_id === 'string') {
      return value as MessageFeedbackFrame;
    }
  } catch {
    // not JSON
  }
  return null;
}
