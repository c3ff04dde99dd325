/**
 * TypeScript mirror of the wire contract (docs/protocol.md; contract version 1).
 * Every frame and JSON shape the client sends or receives is declared here, once.
 */

export type Role = 'user' | 'assistant';
export type MessageStatus = 'complete' | 'streaming' | 'stopped' | 'error' | 'interrupted';
export type DeltaPart = 'content' | 'reasoning';

export interface Usage {
  input_tokens: number;
  output_tokens: number;
}

export interface Message {
  id: string;
  conversation_id: string;
  role: Role;
  content: string;
  reasoning: string;
  status: MessageStatus;
  /** Number of deltas already folded into content and reasoning. */
  seq: number;
  error: string | null;
  model: string | null;
  usage: Usage | null;
  client_id: string | null;
  parent_id: string | null;
  created_at: string;
  /** On an answer: earlier messages left out of the model's context (an addition; absent from older servers). */
  context_omitted?: number;
}

export interface Conversation {
  id: string;
  title: string;
  created_at: string;
  updated_at: string;
  /** Where the shown branch ends (an addition; absent from older servers). */
  active_leaf_id?: string | null;
  /** Organizing (additions): pinned, archived, and the folder it is in. */
  pinned?: boolean;
  archived?: boolean;
  folder_id?: string | null;
  // Additions (absent from older servers): the conversation's settings.
  /** Id of the conversation's model (GET /api/models/); null: the server's default. */
  model?: string | null;
  /** The conversation's own system prompt (after the operator's). */
  system_prompt?: string;
  /** 0 to 2; null: the model's default. */
  temperature?: number | null;
}

/** A folder of conversations (an addition: docs/api.md, "Pin, archive, folders"). */
export interface Folder {
  id: string;
  name: string;
  /** Defaults for new chats started in it ("": none). */
  model: string;
  system_prompt: string;
  conversation_count: number;
  created_at: string;
}

/** A conversation's settings, as message.send and PATCH /api/conversations/<id>/ take them. */
export interface ConversationSettings {
  model: string;
  system_prompt: string;
  temperature: number | null;
}

export interface ConversationSummary extends Conversation {
  message_count: number;
  preview: string;
}

/** An import of a file (an addition: docs/api.md, "Import and bulk export"). */
export interface ImportJob {
  id: string;
  filename: string;
  size: number;
  status: 'running' | 'done' | 'failed';
  phase: 'reading' | 'saving' | 'done';
  done: number;
  total: number;
  imported: number;
  skipped: number;
  error: string;
  created_at: string;
}

/** A share link (an addition: docs/api.md, "Share links"). */
export interface ShareLink {
  token: string;
  url: string;
  conversation_id: string;
  title: string;
  message_count: number;
  created_at: string;
}

/** What a share link shows: the shown branch when it was shared. */
export interface SharedConversation {
  title: string;
  shared_by: string;
  created_at: string;
  messages: Array<Pick<Message, 'role' | 'content' | 'reasoning' | 'model' | 'status' | 'created_at'>>;
}

// ---- client -> server ----

export interface MessageSendFrame extends Partial<ConversationSettings> {
  type: 'message.send';
  content: string;
  client_id?: string;
  /** The answer the question follows; null: a new first message (an edit of it). Absent: the shown branch goes on. */
  parent_id?: string | null;
}
export interface GenerationStopFrame {
  type: 'generation.stop';
}
export interface MessageRegenerateFrame {
  type: 'message.regenerate';
  /** The answer to write again (or the question to answer again); absent: the shown branch's last. */
  message_id?: string;
}
/** Show the branch through a message, down to its newest descendant (an addition). */
export interface BranchSwitchFrame {
  type: 'branch.switch';
  message_id: string;
}
export interface ConversationSyncFrame {
  type: 'conversation.sync';
}
export type ClientFrame =
  | MessageSendFrame
  | GenerationStopFrame
  | MessageRegenerateFrame
  | ConversationSyncFrame
  | BranchSwitchFrame;

// ---- server -> client ----

export interface ConversationSnapshotFrame {
  type: 'conversation.snapshot';
  conversation: Conversation | null;
  messages: Message[];
}
export interface MessageCreatedFrame {
  type: 'message.created';
  message: Message;
}
export interface MessageDeltaFrame {
  type: 'message.delta';
  message_id: string;
  seq: number;
  part: DeltaPart;
  delta: string;
}
export interface MessageDoneFrame {
  type: 'message.done';
  message: Message;
}
export interface ConversationUpdatedFrame {
  type: 'conversation.updated';
  conversation: Conversation;
}
export type ErrorCode =
  | 'bad_request'
  | 'too_long'
  | 'busy'
  | 'rate_limited'
  | 'too_many_answers'
  | 'internal'
  /** The server process is restarting: nothing was stored; send again once reconnected. */
  | 'unavailable'
  /** The model is not offered (any more): nothing was stored; pick another. */
  | 'unknown_model';
export interface ErrorFrame {
  type: 'error';
  code: ErrorCode | string;
  message: string;
  client_id?: string;
  retry_after?: number;
}
export type ServerFrame =
  | ConversationSnapshotFrame
  | MessageCreatedFrame
  | MessageDeltaFrame
  | MessageDoneFrame
  | ConversationUpdatedFrame
  | ErrorFrame;

const SERVER_FRAME_TYPES = new Set<string>([
  'conversation.snapshot',
  'message.created',
  'message.delta',
  'message.done',
  'conversation.updated',
  'error',
]);

/** Parse a text frame from the server; returns null for anything that is not a known frame. */
export function parseServerFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string' || !SERVER_FRAME_TYPES.has(type)) return null;
  return value as ServerFrame;
}

// ---- WebSocket close codes ----

export const CLOSE_NOT_LOGGED_IN = 4001;
export const CLOSE_FORBIDDEN = 4003;
/** The socket path names no conversation (not /ws/chat/<uuid>/): retrying cannot help. */
export const CLOSE_NO_SUCH_PATH = 4004;
/** The user has CHAT_MAX_SOCKETS_PER_USER sockets open on that server process. */
export const CLOSE_TOO_MANY_SOCKETS = 4029;
/** RFC 6455 "service restart": that server process is shutting down; reconnect at once
 * (the proxy sends the new socket to another process, where the answers go on). */
export const CLOSE_SERVICE_RESTART = 1012;
export const ERROR_UNAVAILABLE = 'unavailable';

// ---- HTTP API ----

export interface ConversationPage {
  items: ConversationSummary[];
  next_cursor: string | null;
}
export interface ConversationDetail {
  conversation: Conversation;
  messages: Message[];
}
export interface ApiErrorBody {
  error: { code: string; message: string };
}
export interface Me {
  username: string;
}
export interface ModelInfo {
  id: string;
  label: string;
}
/** GET /api/models/: what may be picked, and what a new chat of this user takes. */
export interface ModelCatalogue {
  models: ModelInfo[];
  default: ConversationSettings;
}
