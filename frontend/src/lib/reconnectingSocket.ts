/**
 * A WebSocket that reconnects after any close with exponential backoff and jitter,
 * except for "terminal" close codes (not logged in, not yours), which stop it and are
 * reported so the UI can ask for a login or show "not found", and "immediate" ones (the
 * server process is restarting), after which it reconnects at once.
 */

import {
  CLOSE_FORBIDDEN,
  CLOSE_NO_SUCH_PATH,
  CLOSE_NOT_LOGGED_IN,
  CLOSE_SERVICE_RESTART,
  CLOSE_TOO_MANY_SOCKETS,
} from './protocol';

export type ConnectionState = 'connecting' | 'online' | 'reconnecting' | 'offline';

export interface ReconnectingSocketOptions {
  url: string | (() => string);
  onMessage: (text: string) => void;
  /** Called after every successful (re)connect. */
  onOpen?: () => void;
  onStateChange?: (state: ConnectionState) => void;
  /** Called when the server closes with a terminal code; the socket then stays closed. */
  onTerminalClose?: (code: number) => void;
  terminalCodes?: number[];
  /** Codes after which the next attempt waits the longest delay (too many sockets open). */
  slowCodes?: number[];
  /** Codes after which the next attempt is made at once (that server process is restarting). */
  immediateCodes?: number[];
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests. */
  random?: () => number;
  WebSocketImpl?: typeof WebSocket;
}

/** Delay before reconnect attempt `attempt` (0-based): doubling, capped, half of it jittered. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number) {
  const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

export class ReconnectingSocket {
  private ws: WebSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = true;
  private currentState: ConnectionState = 'offline';
  private readonly options: Required<
    Pick<
      ReconnectingSocketOptions,
      'terminalCodes' | 'slowCodes' | 'immediateCodes' | 'minDelayMs' | 'maxDelayMs' | 'random'
    >
  > &
    ReconnectingSocketOptions;

  constructor(options: ReconnectingSocketOptions) {
    this.options = {
      terminalCodes: [CLOSE_NOT_LOGGED_IN, CLOSE_FORBIDDEN, CLOSE_NO_SUCH_PATH],
      slowCodes: [CLOSE_TOO_MANY_SOCKETS],
      immediateCodes: [CLOSE_SERVICE_RESTART],
      minDelayMs: 500,
      maxDelayMs: 10_000,
      random: Math.random,
      ...options,
    };
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Open the socket (again, after a terminal close or `stop`). */
  start(): void {
    this.stopped = false;
    this.attempt = 0;
    this.clearTimer();
    if (typeof window !== 'undefined') window.addEventListener('online', this.handleOnline);
    this.connect('connecting');
  }

  /** Close for good (component unmount). */
  stop(): void {
    this.stopped = true;
    this.clearTimer();
    if (typeof window !== 'undefined') window.removeEventListener('online', this.handleOnline);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close(1000);
    }
    this.setState('offline');
  }

  /** Send a text frame; returns false (sending nothing) when not connected. */
  send(text: string): boolean {
    if (!this.ws || this.ws.readyState !== 1 /* OPEN */) return false;
    this.ws.send(text);
    return true;
  }

  private handleOnline = () => {
    if (!this.stopped && this.timer !== null) {
      this.clearTimer();
      this.connect('reconnecting');
    }
  };

  private connect(state: ConnectionState) {
    this.setState(state);
    const { url, WebSocketImpl } = this.options;
    const Impl = WebSocketImpl ?? WebSocket;
    const ws = new Impl(typeof url === 'function' ? url() : url);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setState('online');
      this.options.onOpen?.();
    };
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data === 'string') this.options.onMessage(event.data);
    };
    ws.onclose = (event: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (this.options.terminalCodes.includes(event.code)) {
        this.stopped = true;
        this.setState('offline');
        this.options.onTerminalClose?.(event.code);
        return;
      }
      // The server asked to go elsewhere: the proxy has another process ready. If that
      // attempt fails too, the backoff resumes from its first delay.
      if (this.options.immediateCodes.includes(event.code)) {
        this.connect('reconnecting');
        return;
      }
      // Retrying at once cannot help while the user's other sockets hold every place.
      if (this.options.slowCodes.includes(event.code)) this.attempt = Math.max(this.attempt, 30);
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect() {
    const { minDelayMs, maxDelayMs, random } = this.options;
    const delay = backoffDelay(this.attempt, minDelayMs, maxDelayMs, random);
    this.attempt += 1;
    this.setState('reconnecting');
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect('reconnecting');
    }, delay);
  }

  private clearTimer() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private setState(state: ConnectionState) {
    if (state === this.currentState) return;
    this.currentState = state;
    this.options.onStateChange?.(state);
  }
}
