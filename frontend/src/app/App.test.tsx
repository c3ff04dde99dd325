import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createMemoryRouter, RouterProvider } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setAuthLost } from '../lib/liveState';
import { FakeWebSocket } from '../test/fakeWebSocket';
import { makeMessage } from '../test/factories';
import { routes } from './App';

const CONVERSATION = '11111111-1111-4111-8111-111111111111';

function renderAt(path: string) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  render(<RouterProvider router={router} />);
  return router;
}

function server(frame: unknown) {
  act(() => FakeWebSocket.last.receive(frame));
}

describe('chat app', () => {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.stubGlobal('WebSocket', FakeWebSocket);
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ items: [], next_cursor: null }), { status: 200 })),
    );
  });
  afterEach(async () => {
    vi.unstubAllGlobals();
    await act(async () => setAuthLost(false));
  });

  it('starts a new chat on a fresh id, sends with a client_id and moves to /c/<id> on the same socket', async () => {
    const router = renderAt('/');
    const ws = FakeWebSocket.last;
    const id = ws.url.match(/\/ws\/chat\/([0-9a-f-]{36})\/$/)?.[1];
    expect(id).toBeTruthy();
    act(() => ws.open());
    server({ type: 'conversation.snapshot', conversation: null, messages: [] });

    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), 'Hello there{Enter}');
    const sent = ws.sentFrames();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: 'message.send', content: 'Hello there' });
    expect(typeof sent[0].client_id).toBe('string');
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('');

    server({
      type: 'message.created',
      message: makeMessage({ id: 'u1', role: 'user', content: 'Hello there', client_id: sent[0].client_id as string, conversation_id: id }),
    });
    await waitFor(() => expect(router.state.location.pathname).toBe(`/c/${id}`));
    expect(FakeWebSocket.instances).toHaveLength(1); // same page, same socket
    expect(screen.getByText('Hello there')).toBeInTheDocument();
  });

  it('streams an answer with a Stop button that sends generation.stop', async () => {
    renderAt(`/c/${CONVERSATION}`);
    const ws = FakeWebSocket.last;
    act(() => ws.open());
    const user = makeMessage({ id: 'u1', role: 'user', content: 'Q' });
    const answer = makeMessage({ id: 'a1', parent_id: 'u1', status: 'streaming', content: 'Part', seq: 1 });
    server({ type: 'conversation.snapshot', conversation: { id: CONVERSATION, title: 'Chat about Q', created_at: '', updated_at: '' }, messages: [user, answer] });
    server({ type: 'message.delta', message_id: 'a1', seq: 2, part: 'content', delta: 'ial answer' });
    // Deltas are shown on the next animation frame.
    expect(await screen.findByText('Partial answer')).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Stop generating' }));
    expect(ws.sentFrames()).toEqual([{ type: 'generation.stop' }]);

    server({ type: 'message.done', message: { ...answer, content: 'Partial answer', status: 'stopped', seq: 2 } });
    expect(screen.queryByRole('button', { name: 'Stop generating' })).toBeNull();
    expect(screen.getByText('Stopped.')).toBeInTheDocument();
  });

  it('shows "not found" on 4003 without reconnecting', () => {
    vi.useFakeTimers();
    try {
      renderAt(`/c/${CONVERSATION}`);
      act(() => FakeWebSocket.last.open());
      act(() => FakeWebSocket.last.serverClose(4003));
      act(() => vi.advanceTimersByTime(30_000));
      expect(screen.getByText('Conversation not found')).toBeInTheDocument();
      expect(FakeWebSocket.instances).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('asks to log in again on 4001, keeps the draft, and reconnects after login', async () => {
    renderAt(`/c/${CONVERSATION}`);
    act(() => FakeWebSocket.last.open());
    server({ type: 'conversation.snapshot', conversation: null, messages: [] });
    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), 'unsent draft');
    await act(async () => FakeWebSocket.last.serverClose(4001));

    const dialog = await screen.findByRole('dialog', { name: 'Your session ended' });
    expect(dialog).toBeInTheDocument();
    vi.mocked(fetch).mockImplementation(async (input) =>
      String(input).includes('/api/me/')
        ? new Response(JSON.stringify({ username: 'alice' }), { status: 200 })
        : new Response('', { status: 200 }),
    );
    await userEvent.type(screen.getByLabelText('Password'), 'secret');
    await userEvent.type(screen.getByLabelText('Username'), 'alice');
    await userEvent.click(screen.getByRole('button', { name: 'Log in' }));

    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(FakeWebSocket.instances).toHaveLength(2);
    const loginCall = vi.mocked(fetch).mock.calls.find(([url, init]) => url === '/accounts/login/' && init?.method === 'POST');
    expect(String(loginCall?.[1]?.body)).toContain('password=secret');
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('unsent draft');
  });

  it('after a 4001, a message sent but not stored goes back to the composer, and is not sent after login', async () => {
    renderAt(`/c/${CONVERSATION}`);
    act(() => FakeWebSocket.last.open());
    server({ type: 'conversation.snapshot', conversation: null, messages: [] });
    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), 'sent as the session ended{Enter}');
    expect(FakeWebSocket.last.sentFrames()).toEqual([expect.objectContaining({ type: 'message.send', content: 'sent as the session ended' })]);
    await act(async () => FakeWebSocket.last.serverClose(4001));

    await screen.findByRole('dialog', { name: 'Your session ended' });
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('sent as the session ended');
    expect(screen.queryByText('Sending…')).toBeNull();
    await act(async () => setAuthLost(false)); // logged in again
    expect(FakeWebSocket.instances).toHaveLength(2);
    act(() => FakeWebSocket.last.open());
    server({ type: 'conversation.snapshot', conversation: null, messages: [] });
    expect(FakeWebSocket.last.sentFrames()).toEqual([]);
    expect(screen.getByRole('textbox', { name: 'Message' })).toHaveValue('sent as the session ended');
  });

  it('shows server refusals plainly', () => {
    renderAt(`/c/${CONVERSATION}`);
    act(() => FakeWebSocket.last.open());
    server({ type: 'conversation.snapshot', conversation: null, messages: [] });
    server({ type: 'error', code: 'rate_limited', message: 'slow down', retry_after: 12 });
    expect(screen.getByRole('alert')).toHaveTextContent('Try again in 12 s');
  });
});
