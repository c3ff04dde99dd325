import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket, asWebSocket } from '../test/fakeWebSocket';
import { ReconnectingSocket, backoffDelay, type ConnectionState } from './reconnectingSocket';

function makeSocket(extra: Partial<ConstructorParameters<typeof ReconnectingSocket>[0]> = {}) {
  const states: ConnectionState[] = [];
  const messages: string[] = [];
  const terminal: number[] = [];
  const socket = new ReconnectingSocket({
    url: 'ws://test/ws/chat/c1/',
    WebSocketImpl: asWebSocket,
    random: () => 1, // no jitter: delays are exactly the ceiling
    onMessage: (text) => messages.push(text),
    onStateChange: (state) => states.push(state),
    onTerminalClose: (code) => terminal.push(code),
    ...extra,
  });
  return { socket, states, messages, terminal };
}

describe('ReconnectingSocket', () => {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('computes doubling delays with a cap and jitter in the upper half', () => {
    expect(backoffDelay(0, 500, 10_000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 10_000, () => 1)).toBe(4000);
    expect(backoffDelay(10, 500, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(10, 500, 10_000, () => 0)).toBe(5000);
  });

  it('reconnects with growing delays after closes and resets after a good connection', () => {
    const { socket, states } = makeSocket();
    socket.start();
    expect(FakeWebSocket.instances).toHaveLength(1);
    FakeWebSocket.last.open();
    expect(socket.state).toBe('online');

    FakeWebSocket.last.serverClose(1006);
    expect(socket.state).toBe('reconnecting');
    vi.advanceTimersByTime(499);
    expect(FakeWebSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances).toHaveLength(2);

    FakeWebSocket.last.serverClose(1006); // failed attempt: next delay doubles
    vi.advanceTimersByTime(999);
    expect(FakeWebSocket.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances).toHaveLength(3);

    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(1011); // after success: back to the first delay
    vi.advanceTimersByTime(500);
    expect(FakeWebSocket.instances).toHaveLength(4);
    expect(states).toEqual(['connecting', 'online', 'reconnecting', 'online', 'reconnecting']);
  });

  it('waits the longest delay after 4029 (too many sockets of this user)', () => {
    const { socket } = makeSocket();
    socket.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(4029);
    expect(socket.state).toBe('reconnecting');
    vi.advanceTimersByTime(9_999);
    expect(FakeWebSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it.each([4001, 4003])('stops on close code %i and reports it', (code) => {
    const { socket, terminal } = makeSocket();
    socket.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(code);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(terminal).toEqual([code]);
    expect(socket.state).toBe('offline');
  });

  it('reconnects at once after 1012 (the server process is restarting), then backs off as usual', () => {
    const { socket, states } = makeSocket();
    socket.start();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(1012);
    expect(FakeWebSocket.instances).toHaveLength(2); // no timer: the next socket is already opening
    expect(socket.state).toBe('reconnecting');
    FakeWebSocket.last.serverClose(1006); // that attempt failed too: the first backoff delay
    vi.advanceTimersByTime(499);
    expect(FakeWebSocket.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeWebSocket.instances).toHaveLength(3);
    FakeWebSocket.last.open();
    expect(states).toEqual(['connecting', 'online', 'reconnecting', 'online']);
  });

  it('passes text frames through and refuses to send while not open', () => {
    const { socket, messages } = makeSocket();
    socket.start();
    expect(socket.send('early')).toBe(false);
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: 'x' });
    expect(messages).toEqual(['{"type":"x"}']);
    expect(socket.send('hello')).toBe(true);
    expect(FakeWebSocket.last.sent).toEqual(['hello']);
  });

  it('does not reconnect after stop()', () => {
    const { socket } = makeSocket();
    socket.start();
    FakeWebSocket.last.open();
    socket.stop();
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(socket.state).toBe('offline');
  });
});
