/**
 * One conversation's live connection: a ReconnectingSocket, the reducer over its frames,
 * a sync request when a delta gap shows up, and an outbox of message.send frames that
 * survives reconnects (each written at most once per connection, and only while the
 * server has not confirmed it; client_id makes a resend idempotent anyway).
 */
import { parseServerFrame, type ClientFrame, type ConversationSettings, type MessageSendFrame } from '../../lib/protocol';
import { ReconnectingSocket, type ConnectionState } from '../../lib/reconnectingSocket';
import { newUuid } from '../../lib/uuid';
import { applyFrame, initialChatState, type ChatAction, type ChatState, type PendingSend } from './reducer';

export interface ChatView {
  chat: ChatState;
  connection: ConnectionState;
  /** 4001 (log in again) or 4003 (not yours) once the server closed with it. */
  closedWith: number | null;
}

export interface ChatConnectionOptions {
  conversationId: string;
  /** Defaults to ws(s)://<this host>/ws/chat/<id>/. */
  url?: string;
  WebSocketImpl?: typeof WebSocket;
  random?: () => number;
  /** Frames of other features on this socket (types chat does not know), as received. */
  onOtherFrame?: (text: string) => void;
}

export function chatSocketUrl(conversationId: string): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/ws/chat/${conversationId}/`;
}

export class ChatConnection {
  private view: ChatView = { chat: initialChatState, connection: 'offline', closedWith: null };
  private listeners = new Set<() => void>();
  private readonly socket: ReconnectingSocket;
  /** Between (re)connect or a sync request and the snapshot that answers it. */
  private awaitingSnapshot = true;
  /** client_ids written on the current connection. */
  private writtenOnThisConnection = new Set<string>();
  /** client_id of the last frame written, if it was a message.send (errors answer it). */
  private lastWrittenClientId: string | null = null;

  private readonly onOtherFrame?: (text: string) => void;

  constructor(options: ChatConnectionOptions) {
    this.onOtherFrame = options.onOtherFrame;
    this.socket = new ReconnectingSocket({
      url: options.url ?? (() => chatSocketUrl(options.conversationId)),
      WebSocketImpl: options.WebSocketImpl,
      random: options.random,
      onOpen: () => {
        this.awaitingSnapshot = true;
        this.lastWrittenClientId = null;
        this.writtenOnThisConnection.clear();
      },
      onMessage: (text) => this.receive(text),
      onStateChange: (connection) => this.update({ connection }),
      onTerminalClose: (code) => this.update({ closedWith: code }),
    });
  }

  // ---- store interface (useSyncExternalStore) ----
  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getView = (): ChatView => this.view;

  start(): void {
    this.update({ closedWith: null });
    this.socket.start();
  }

  stop(): void {
    this.socket.stop();
    if (this.frameRequest !== null) cancelAnimationFrame(this.frameRequest);
    this.frameRequest = null;
  }

  /**
   * Queue a user message; it is written now if connected, else after the next snapshot.
   * `settings` go with it (a new chat's first message carries the model picked for it).
   * `parentId`: the answer it follows (null: a new first message); omitted: the shown branch.
   */
  sendMessage(
    content: string,
    clientId: string = newUuid(),
    settings?: Partial<ConversationSettings>,
    parentId?: string | null,
  ): string {
    const send: PendingSend = { client_id: clientId, content };
    if (settings) send.settings = settings;
    if (parentId !== undefined) send.parent_id = parentId;
    this.dispatch({ type: 'local.pending', send });
    this.flushOutbox();
    return clientId;
  }

  stopGeneration(): boolean {
    return this.write({ type: 'generation.stop' });
  }

  /** Answer again: `messageId`'s question (an answer or a question), else the shown branch's last. */
  regenerate(messageId?: string): boolean {
    return this.write(messageId ? { type: 'message.regenerate', message_id: messageId } : { type: 'message.regenerate' });
  }

  /** Show the branch through `messageId` here at once, and in every tab once stored. */
  switchBranch(messageId: string): boolean {
    this.dispatch({ type: 'local.switch', messageId });
    return this.write({ type: 'branch.switch', message_id: messageId });
  }

  /**
   * Take back the sends the server has not confirmed (after a 4001 it refused them unread):
   * their texts, oldest first, for the composer, so nothing is sent unseen after a re-login.
   */
  takeUnsent(): string[] {
    const texts = this.view.chat.pending.map((send) => send.content);
    this.dispatch({ type: 'local.unsend' });
    return texts;
  }

  dismissError(): void {
    this.dispatch({ type: 'local.dismissError' });
  }

  private write(frame: ClientFrame): boolean {
    const written = this.socket.send(JSON.stringify(frame));
    if (written) this.lastWrittenClientId = frame.type === 'message.send' ? (frame.client_id ?? null) : null;
    return written;
  }

  private receive(text: string) {
    let frame = parseServerFrame(text);
    if (!frame) {
      this.onOtherFrame?.(text);
      return;
    }
    // An error answers the last client frame: attribute it to that send when the
    // server did not say, so the refused message leaves the outbox (and is not resent).
    if (frame.type === 'error' && !frame.client_id && this.lastWrittenClientId) {
      frame = { ...frame, client_id: this.lastWrittenClientId };
    }
    if (frame.type === 'error') this.lastWrittenClientId = null;
    if (frame.type === 'conversation.snapshot') this.awaitingSnapshot = false;
    const gap = this.dispatch(frame);
    if (gap && !this.awaitingSnapshot && this.write({ type: 'conversation.sync' })) {
      this.awaitingSnapshot = true;
    }
    if (frame.type === 'conversation.snapshot') this.flushOutbox();
  }

  private flushOutbox() {
    // Before the snapshot we cannot tell which sends the server already stored.
    if (this.awaitingSnapshot || this.view.connection !== 'online') return;
    for (const send of this.view.chat.pending) {
      if (this.writtenOnThisConnection.has(send.client_id)) continue;
      const frame: MessageSendFrame = {
        type: 'message.send',
        content: send.content,
        client_id: send.client_id,
        ...send.settings,
      };
      if (send.parent_id !== undefined) frame.parent_id = send.parent_id;
      if (!this.write(frame)) return;
      this.writtenOnThisConnection.add(send.client_id);
    }
  }

  private dispatch(action: ChatAction): boolean {
    const { state, gap } = applyFrame(this.view.chat, action);
    if (state !== this.view.chat) {
      if (action.type === 'message.delta') {
        // Deltas come faster than frames: fold each in now, show them once per frame.
        this.view = { ...this.view, chat: state };
        this.notifyNextFrame();
      } else {
        this.update({ chat: state });
      }
    }
    return gap;
  }

  private update(patch: Partial<ChatView>) {
    this.view = { ...this.view, ...patch };
    this.notify();
  }

  private frameRequest: number | null = null;

  private notifyNextFrame() {
    if (this.frameRequest !== null) return;
    this.frameRequest = requestAnimationFrame(() => {
      this.frameRequest = null;
      this.notify();
    });
  }

  private notify() {
    if (this.frameRequest !== null) {
      cancelAnimationFrame(this.frameRequest);
      this.frameRequest = null;
    }
    for (const listener of this.listeners) listener();
  }
}
