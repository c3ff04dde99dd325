import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket, asWebSocket } from '../../test/fakeWebSocket';
import { makeMessage } from '../../test/factories';
import { ChatConnection } from './chatConnection';

const streaming = makeMessage({ id: 'a1', status: 'streaming', content: 'ab', seq: 2 });

function connect() {
  const connection = new ChatConnection({
    conversationId: 'c1',
    url: 'ws://test/ws/chat/c1/',
    WebSocketImpl: asWebSocket,
    random: () => 1,
  });
  connection.start();
  return connection;
}

/** The socket opens and the server's first frame, an empty snapshot, arrives. */
function online(ws: FakeWebSocket) {
  ws.open();
  ws.receive({ type: 'conversation.snapshot', conversation: null, messages: [] });
}

describe('ChatConnection', () => {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('asks for a snapshot once when it sees a gap, then resumes from the snapshot', () => {
    const connection = connect();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'conversation.snapshot', conversation: null, messages: [streaming] });
    ws.receive({ type: 'message.delta', message_id: 'a1', seq: 3, part: 'content', delta: 'c' });
    ws.receive({ type: 'message.delta', message_id: 'a1', seq: 5, part: 'content', delta: 'e' });
    ws.receive({ type: 'message.delta', message_id: 'a1', seq: 6, part: 'content', delta: 'f' });
    expect(ws.sentFrames()).toEqual([{ type: 'conversation.sync' }]);
    expect(connection.getView().chat.messages[0].content).toBe('abc');

    ws.receive({ type: 'conversation.snapshot', conversation: null, messages: [{ ...streaming, content: 'abcdef', seq: 6 }] });
    ws.receive({ type: 'message.delta', message_id: 'a1', seq: 7, part: 'content', delta: 'g' });
    expect(connection.getView().chat.messages[0].content).toBe('abcdefg');
    expect(ws.sentFrames()).toHaveLength(1);
  });

  it('folds deltas in at once but tells its listeners once per animation frame', () => {
    const connection = connect();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'conversation.snapshot', conversation: null, messages: [streaming] });
    const listener = vi.fn();
    connection.subscribe(listener);
    for (const [seq, delta] of [[3, 'c'], [4, 'd'], [5, 'e']] as const) {
      ws.receive({ type: 'message.delta', message_id: 'a1', seq, part: 'content', delta });
    }
    expect(connection.getView().chat.messages[0].content).toBe('abcde');
    expect(listener).not.toHaveBeenCalled();
    vi.advanceTimersToNextFrame();
    expect(listener).toHaveBeenCalledTimes(1);
    // Any other frame is shown at once, with the deltas before it.
    ws.receive({ type: 'message.delta', message_id: 'a1', seq: 6, part: 'content', delta: 'f' });
    ws.receive({ type: 'message.done', message: { ...streaming, content: 'abcdef', seq: 6, status: 'complete' } });
    expect(listener).toHaveBeenCalledTimes(2);
    vi.advanceTimersToNextFrame();
    expect(listener).toHaveBeenCalledTimes(2);
  });

  it('queues a send made offline and writes it once, after the snapshot', () => {
    const connection = connect();
    const clientId = connection.sendMessage('hello', 'k1');
    expect(clientId).toBe('k1');
    const ws = FakeWebSocket.last;
    ws.open();
    expect(ws.sent).toEqual([]); // not before the snapshot
    ws.receive({ type: 'conversation.snapshot', conversation: null, messages: [] });
    ws.receive({ type: 'conversation.snapshot', conversation: null, messages: [] });
    expect(ws.sentFrames()).toEqual([{ type: 'message.send', content: 'hello', client_id: 'k1' }]);
  });

  it('resends an unconfirmed send on the next connection, with the same client_id, but not a confirmed one', () => {
    const connection = connect();
    let ws = FakeWebSocket.last;
    online(ws);
    connection.sendMessage('one', 'k1');
    connection.sendMessage('two', 'k2');
    expect(ws.sentFrames().map((f) => f.client_id)).toEqual(['k1', 'k2']);
    ws.receive({ type: 'message.created', message: makeMessage({ role: 'user', content: 'one', client_id: 'k1' }) });

    ws.serverClose(1006);
    vi.advanceTimersByTime(500);
    ws = FakeWebSocket.last;
    online(ws);
    expect(ws.sentFrames()).toEqual([{ type: 'message.send', content: 'two', client_id: 'k2' }]);
    expect(connection.getView().chat.pending.map((p) => p.client_id)).toEqual(['k2']);
  });

  it('drops a refused send from the outbox even when the error does not name its client_id', () => {
    const connection = connect();
    let ws = FakeWebSocket.last;
    online(ws);
    connection.sendMessage('too soon', 'k9');
    ws.receive({ type: 'error', code: 'busy', message: 'an answer is running' });
    expect(connection.getView().chat.pending).toEqual([]);
    expect(connection.getView().chat.error).toMatchObject({ code: 'busy', client_id: 'k9' });

    ws.serverClose(1006);
    vi.advanceTimersByTime(500);
    ws = FakeWebSocket.last;
    online(ws);
    expect(ws.sent).toEqual([]);
  });

  it('keeps a send a restarting server refused and sends it again on the next socket, at once', () => {
    const connection = connect();
    let ws = FakeWebSocket.last;
    online(ws);
    connection.sendMessage('during a deploy', 'k5');
    ws.receive({ type: 'error', code: 'unavailable', message: 'restarting', client_id: 'k5', retry_after: 1 });
    expect(connection.getView().chat.pending.map((p) => p.client_id)).toEqual(['k5']);
    expect(connection.getView().chat.error).toBeNull();

    ws.serverClose(1012);
    ws = FakeWebSocket.last; // no delay: already the next socket
    online(ws);
    expect(ws.sentFrames()).toEqual([{ type: 'message.send', content: 'during a deploy', client_id: 'k5' }]);
  });

  it('shows `unavailable` for a regenerate, which has no outbox', () => {
    const connection = connect();
    const ws = FakeWebSocket.last;
    online(ws);
    connection.regenerate();
    ws.receive({ type: 'error', code: 'unavailable', message: 'restarting', retry_after: 1 });
    expect(connection.getView().chat.error).toMatchObject({ code: 'unavailable' });
  });

  it('reports 4001 and stops reconnecting until started again', () => {
    const connection = connect();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(4001);
    vi.advanceTimersByTime(30_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(connection.getView().closedWith).toBe(4001);
    connection.start();
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(connection.getView().closedWith).toBeNull();
  });

  it('sends stop and regenerate frames only while connected', () => {
    const connection = connect();
    expect(connection.stopGeneration()).toBe(false);
    FakeWebSocket.last.open();
    expect(connection.stopGeneration()).toBe(true);
    expect(connection.regenerate()).toBe(true);
    expect(FakeWebSocket.last.sentFrames()).toEqual([{ type: 'generation.stop' }, { type: 'message.regenerate' }]);
  });

  it('sends edits with their parent, resends them so after a reconnect, and switches branches', () => {
    const connection = connect();
    const ws = FakeWebSocket.last;
    online(ws);
    connection.sendMessage('edited first', 'e1', undefined, null);
    connection.sendMessage('edited later', 'e2', undefined, 'a7');
    connection.sendMessage('plain', 'e3');
    expect(ws.sentFrames()).toEqual([
      { type: 'message.send', content: 'edited first', client_id: 'e1', parent_id: null },
      { type: 'message.send', content: 'edited later', client_id: 'e2', parent_id: 'a7' },
      { type: 'message.send', content: 'plain', client_id: 'e3' },
    ]);
    ws.close(1006);
    vi.advanceTimersByTime(60_000);
    const again = FakeWebSocket.last;
    expect(again).not.toBe(ws);
    online(again);
    expect(again.sentFrames().map((f) => (f as { parent_id?: unknown }).parent_id)).toEqual([null, 'a7', undefined]);

    connection.regenerate('a7');
    connection.switchBranch('q2');
    expect(again.sentFrames().slice(-2)).toEqual([
      { type: 'message.regenerate', message_id: 'a7' },
      { type: 'branch.switch', message_id: 'q2' },
    ]);
  });
});
