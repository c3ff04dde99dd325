import { describe, expect, it } from 'vitest';
import { parseFeedbackFrame, type Feedback } from './protocol';
import { ratingsReducer } from './state';

const up = (at: string): Feedback => ({ rating: 'up', reason: null, comment: '', updated_at: at });
const down = (at: string): Feedback => ({ rating: 'down', reason: 'inaccurate', comment: 'no', updated_at: at });

describe('ratingsReducer', () => {
  it('sets, changes and withdraws a rating', () => {
    let state = ratingsReducer({}, { type: 'set', messageId: 'a', feedback: up('2026-01-01T00:00:01Z') });
    expect(state.a?.rating).toBe('up');
    state = ratingsReducer(state, { type: 'set', messageId: 'a', feedback: down('2026-01-01T00:00:02Z') });
    expect(state.a?.rating).toBe('down');
    state = ratingsReducer(state, { type: 'set', messageId: 'a', feedback: null });
    expect(state.a).toBeNull();
  });

  it('ignores an older rating arriving after a newer one', () => {
    const state = ratingsReducer({ a: down('2026-01-01T00:00:05Z') }, {
      type: 'set',
      messageId: 'a',
      feedback: up('2026-01-01T00:00:04Z'),
    });
    expect(state.a?.rating).toBe('down');
  });

  it('keeps what the socket said while the list was loading', () => {
    const state = ratingsReducer({ a: down('2026-01-01T00:00:05Z') }, {
      type: 'loaded',
      items: { a: up('2026-01-01T00:00:01Z'), b: up('2026-01-01T00:00:01Z') },
    });
    expect(state.a?.rating).toBe('down');
    expect(state.b?.rating).toBe('up');
  });
});

describe('parseFeedbackFrame', () => {
  it('reads message.feedback frames and nothing else', () => {
    const frame = { type: 'message.feedback', message_id: 'a', feedback: up('2026-01-01T00:00:01Z') };
    expect(parseFeedbackFrame(JSON.stringify(frame))).toEqual(frame);
    expect(parseFeedbackFrame(JSON.stringify({ type: 'message.delta', message_id: 'a' }))).toBeNull();
    expect(parseFeedbackFrame('{"type":"message.feedback"')).toBeNull();
    expect(parseFeedbackFrame(JSON.stringify({ type: 'message.feedback' }))).toBeNull();
  });
});
