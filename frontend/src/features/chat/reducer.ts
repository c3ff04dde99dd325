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
import { newestLeaf } from './branch';

export interface PendingSend {
  client_id: string;
  content: string;
  /** The answer it follows (null: a new first message); absent: the shown branch goes on. */
  parent_id?: string | null;
  /** Settings chosen before a new chat's first send: they go with it (and with resends). */
  settings?: Partial<ConversationSettings>;
}

export interface ChatState {
  conversation: Conversation | null;
  messages: Message[];
  /** Where the shown branch ends (the server's active_leaf_id, or a switch made here). */
  shownLeaf: string | null;
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
  /** Show the branch through a message at once (branch.switch is on its way). */
  | { type: 'local.switch'; messageId: string }
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
  shownLeaf: null,
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
          shownLeaf: action.conversation?.active_leaf_id ?? null,
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
          // A new answer is shown wherever it was asked for (the server stores the same).
          shownLeaf: action.message.role === 'assistant' && !existing ? action.message.id : state.shownLeaf,
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
      return {
        gap: false,
        state: {
          ...state,
          conversation: action.conversation,
          shownLeaf: action.conversation.active_leaf_id ?? state.shownLeaf,
        },
      };

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

    case 'local.switch':
      return { gap: false, state: { ...state, shownLeaf: newestLeaf(state.messages, action.messageId) } };

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
