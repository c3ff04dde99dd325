import type { Message } from '../lib/protocol';

let counter = 0;
export function makeMessage(overrides: Partial<Message> = {}): Message {
  counter += 1;
  return {
    id: `m${counter}`,
    conversation_id: 'c1',
    role: 'assistant',
    content: '',
    reasoning: '',
    status: 'complete',
    seq: 0,
    error: null,
    model: null,
    usage: null,
    client_id: null,
    parent_id: null,
    context_omitted: 0,
    created_at: new Date(2026, 0, 1, 0, 0, counter).toISOString(),
    ...overrides,
  };
}
