import { act, renderHook, waitFor } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeWebSocket, asWebSocket } from '../../test/fakeWebSocket';
import { respond, stubFetch } from '../../test/respond';
import type { Conversation, ModelCatalogue } from '../../lib/protocol';
import { ChatConnection } from './chatConnection';
import { changedSettings, effectiveSettings, isOffered, modelLabel, parseTemperature } from './settings';
import { useChatSettings } from './useChatSettings';

const catalogue: ModelCatalogue = {
  models: [
    { id: 'demo', label: 'Demo' },
    { id: 'demo-terse', label: 'Demo (terse)' },
  ],
  default: { model: 'demo-terse', system_prompt: 'Be brief.', temperature: 0.7 },
};

const conversation: Conversation = {
  id: 'c1',
  title: 'Trip',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  model: 'demo',
  system_prompt: 'French only.',
  temperature: null,
};

describe('conversation settings', () => {
  it("an existing chat shows its own settings; a new one its choice, else the user's last", () => {
    expect(effectiveSettings(conversation, catalogue, null)).toEqual({
      model: 'demo',
      system_prompt: 'French only.',
      temperature: null,
    });
    // An older conversation (model null) runs on the catalogue's default.
    expect(effectiveSettings({ ...conversation, model: null }, catalogue, null)?.model).toBe('demo');
    expect(effectiveSettings(null, catalogue, null)).toEqual(catalogue.default);
    const draft = { model: 'demo', system_prompt: '', temperature: 1 };
    expect(effectiveSettings(null, catalogue, draft)).toBe(draft);
    expect(effectiveSettings(null, null, null)).toBeNull();
  });

  it('tells a withdrawn model and labels models', () => {
    expect(isOffered(catalogue, 'demo-terse')).toBe(true);
    expect(isOffered(catalogue, 'gpt-17')).toBe(false);
    expect(modelLabel(catalogue, 'demo-terse')).toBe('Demo (terse)');
    expect(modelLabel(catalogue, 'gpt-17')).toBe('gpt-17');
  });

  it('keeps temperatures to tenths within 0..2, blank being the default', () => {
    expect(parseTemperature('')).toBeNull();
    expect(parseTemperature('0.74')).toBe(0.7);
    expect(parseTemperature('5')).toBe(2);
    expect(parseTemperature('-1')).toBe(0);
    expect(parseTemperature('warm')).toBeNull();
  });

  it('patches only what changed', () => {
    const current = { model: 'demo', system_prompt: 'x', temperature: null };
    expect(changedSettings(current, { model: 'demo', temperature: 0.3 })).toEqual({ temperature: 0.3 });
    expect(changedSettings(current, { system_prompt: 'x' })).toEqual({});
  });
});

describe('useChatSettings', () => {
  const fetchMock = stubFetch();
  const ok = (body: unknown) => respond(200, body);

  it("a new chat keeps the choice locally and sends it with its first message", async () => {
    fetchMock.mockResolvedValue(ok(catalogue));
    const { result } = renderHook(() => useChatSettings(null));
    await waitFor(() => expect(result.current.data.catalogue).toEqual(catalogue));
    expect(result.current.data.current?.model).toBe('demo-terse');
    expect(result.current.data.firstSend).toBeUndefined(); // nothing chosen: the server applies the last choice
    await act(() => result.current.actions.choose({ model: 'demo' }));
    expect(result.current.data.firstSend).toEqual({ model: 'demo', system_prompt: 'Be brief.', temperature: 0.7 });
    expect(fetchMock).toHaveBeenCalledTimes(1); // no PATCH before the chat exists
  });

  it('an existing chat is changed on the server, with only the changed fields', async () => {
    fetchMock.mockResolvedValueOnce(ok(catalogue)).mockResolvedValueOnce(ok({ ...conversation, model: 'demo-terse' }));
    const { result } = renderHook(() => useChatSettings(conversation));
    await waitFor(() => expect(result.current.data.catalogue).not.toBeNull());
    await act(() => result.current.actions.choose({ model: 'demo-terse', temperature: null }));
    const [url, init] = fetchMock.mock.calls[1];
    expect(url).toBe('/api/conversations/c1/');
    expect(init.method).toBe('PATCH');
    expect(JSON.parse(init.body)).toEqual({ model: 'demo-terse' });
    expect(result.current.data.firstSend).toBeUndefined();
  });

  it('reports a refused choice and a withdrawn model', async () => {
    fetchMock
      .mockResolvedValueOnce(ok(catalogue))
      .mockResolvedValueOnce(respond(422, { error: { code: 'unknown_model', message: "The model 'x' is not offered." } }));
    const { result } = renderHook(() => useChatSettings({ ...conversation, model: 'gpt-17' }));
    await waitFor(() => expect(result.current.data.withdrawn).toBe(true));
    await act(() => result.current.actions.choose({ model: 'x' }));
    expect(result.current.data.error).toBe("The model 'x' is not offered.");
  });
});

describe('ChatConnection with settings', () => {
  beforeEach(() => FakeWebSocket.reset());

  it("a new chat's first send carries its settings, on a resend after a reconnect too", () => {
    vi.useFakeTimers();
    const connection = new ChatConnection({
      conversationId: 'c1',
      url: 'ws://test/ws/chat/c1/',
      WebSocketImpl: asWebSocket,
      random: () => 1,
    });
    connection.start();
    const first = FakeWebSocket.last;
    first.open();
    first.receive({ type: 'conversation.snapshot', conversation: null, messages: [] });
    connection.sendMessage('Hi', 'k1', { model: 'demo-terse', temperature: 0.2 });
    const frame = { type: 'message.send', content: 'Hi', client_id: 'k1', model: 'demo-terse', temperature: 0.2 };
    expect(first.sentFrames()).toEqual([frame]);
    first.serverClose(1006);
    vi.advanceTimersByTime(60_000);
    const second = FakeWebSocket.last;
    second.open();
    second.receive({ type: 'conversation.snapshot', conversation: null, messages: [] });
    expect(second.sentFrames()).toEqual([frame]);
    connection.sendMessage('Plain');
    expect(second.sentFrames()[1]).toEqual({ type: 'message.send', content: 'Plain', client_id: expect.any(String) });
    connection.stop();
    vi.useRealTimers();
  });
});
