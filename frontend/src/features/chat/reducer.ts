/**
 * The chat state as a pure function of server frames (plus two local actions).
 *
 * `conversation.snapshot` replaces everything. A delta is folded in only when its
 * `seq` is exactly one more than what the message already holds; a lower `seq` is a
 * duplicate (ignored) and a higher one is a gap: the result carries `gap: true` and the
 * caller asks the server for a fresh snapshot.
 */
import {
  ERROR_UNAVAILABLE,
  type Conversation,
  type ConversationSettings,
  type ErrorFrame,
  type Message,
  type ServerFrame,
} from '../../lib/protocol';

export interface PendingSend {
  client_id: string;
  content: string;
  /** Settings chosen before a new chat's first send: they go with it (and with resends). */
  settings?: Partial<ConversationSettings>;
}

export interface ChatState {
  conversation: Conversation | null;
  messages: Message[];
  /** True once the first snapshot arrived. */
  loaded: boolean;
  /** message.send frames not yet confirmed by the server (shown as "sending"). */
  pending: PendingSend[];
  /** The last refusal from the server, until the next successful send or dismissal. */
  error: ErrorFrame | null;
}

export type LocalAction =
  | { type: 'local.pending'; send: PendingSend }
  | { type: 'local.dismissError' }
  /** Drop every unconfirmed send (its text went back to the composer). */
  | { type: 'local.unsend' };

export type ChatAction = ServerFrame | LocalAction;

export interface ReduceResult {
  state: ChatState;
  /** A delta arrived out of order (or for an unknown message): ask for a snapshot. */
  gap: boolean;
}

export const initialChatState: ChatState = {
  conversation: null,
  messages: [],
  loaded: false,
  pending: [],
  error: null,
};

function upsert(messages: Message[], message: Message): Message[] {
  const index = messages.findIndex((m) => m.id === message.id);
  if (index === -1) return [...messages, message];
  const next = messages.slice();
  next[index] = message;
  return next;
}

function withoutPending(pending: PendingSend[], clientIds: Iterable<string | null | undefined>) {
  const confirmed = new Set(clientIds);
  const rest = pending.filter((p) => !confirmed.has(p.client_id));
  return rest.length === pending.length ? pending : rest;
}

/** Apply one frame or local action; never mutates `state`. */
export function applyFrame(state: ChatState, action: ChatAction): ReduceResult {
  switch (action.type) {
    case 'conversation.snapshot':
      return {
        gap: false,
        state: {
          ...state,
          conversation: action.conversation,
          messages: action.messages,
          loaded: true,
          pending: withoutPending(
            state.pending,
            action.messages.map((m) => m.client_id),
          ),
        },
      };

    case 'message.created': {
      const existing = state.messages.find((m) => m.id === action.message.id);
      // A late `created` must not roll back text that deltas already added.
      if (existing && existing.status === 'streaming' && existing.seq > action.message.seq) {
        return { state, gap: false };
      }
      return {
        gap: false,
        state: {
          ...state,
          messages: upsert(state.messages, action.message),
          pending: withoutPending(state.pending, [action.message.client_id]),
        },
      };
    }

    case 'message.delta': {
      const index = state.messages.findIndex((m) => m.id === action.message_id);
      if (index === -1) return { state, gap: true };
      const message = state.messages[index];
      if (message.status !== 'streaming') return { state, gap: false };
      if (action.seq <= message.seq) return { state, gap: false };
      if (action.seq > message.seq + 1) return { state, gap: true };
      const updated: Message = {
        ...message,
        seq: action.seq,
        content: action.part === 'content' ? message.content + action.delta : message.content,
        reasoning:
          action.part === 'reasoning' ? message.reasoning + action.delta : message.reasoning,
      };
      const messages = state.messages.slice();
      messages[index] = updated;
      return { gap: false, state: { ...state, messages } };
    }

    case 'message.done':
      return {
        gap: false,
        state: { ...state, messages: upsert(state.messages, action.message) },
      };

    case 'conversation.updated':
      return { gap: false, state: { ...state, conversation: action.conversation } };

    case 'error':
      // A restarting server refused a send unread: it stays in the outbox and goes again on
      // the next connection (the server closes this one with 1012), without a banner.
      if (action.code === ERROR_UNAVAILABLE && state.pending.some((p) => p.client_id === action.client_id)) {
        return { state, gap: false };
      }
      return {
        gap: false,
        state: {
          ...state,
          error: action,
          pending: action.client_id
            ? withoutPending(state.pending, [action.client_id])
            : state.pending,
        },
      };

    case 'local.pending':
      if (state.pending.some((p) => p.client_id === action.send.client_id)) {
        return { state, gap: false };
      }
      return {
        gap: false,
        state: { ...state, pending: [...state.pending, action.send], error: null },
      };

    case 'local.dismissError':
      return { gap: false, state: { ...state, error: null } };

    case 'local.unsend':
      return { gap: false, state: state.pending.length ? { ...state, pending: [] } : state };
  }
}

/** The message currently being streamed, if any. */
export function streamingMessage(state: ChatState): Message | undefined {
  return state.messages.find((m) => m.status === 'streaming');
}

/** A user message followed by every version of its answer (oldest first). */
export interface Turn {
  key: string;
  user: Message | null;
  answers: Message[];
}

/**
 * Group messages into turns: each user message with the assistant messages whose
 * `parent_id` points at it (the answer's versions). Orphan answers get their own turn.
 */
export function groupTurns(messages: Message[]): Turn[] {
  const turns: Turn[] = [];
  const byUserId = new Map<string, Turn>();
  for (const message of messages) {
    if (message.role === 'user') {
      const turn: Turn = { key: message.id, user: message, answers: [] };
      byUserId.set(message.id, turn);
      turns.push(turn);
    } else {
      const parent = message.parent_id ? byUserId.get(message.parent_id) : undefined;
      if (parent) parent.answers.push(message);
      else turns.push({ key: message.id, user: null, answers: [message] });
    }
  }
  return turns;
}
