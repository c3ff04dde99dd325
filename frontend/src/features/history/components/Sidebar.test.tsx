import { act, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { conversationsChanged, setConversationStreaming } from '../../../lib/liveState';
import type { ConversationSummary } from '../../../lib/protocol';
import { ConversationSidebarList } from './Sidebar';

const summary = (id: string, title: string): ConversationSummary => ({
  id,
  title,
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  message_count: 2,
  preview: '',
});

describe('ConversationSidebarList', () => {
  const fetchMock = vi.fn();
  beforeEach(() => {
    vi.stubGlobal('fetch', fetchMock);
    fetchMock.mockImplementation(async (url: string) => {
      const cursor = new URL(url, 'http://x').searchParams.get('cursor');
      const page = cursor === 'p2' ? { items: [summary('c3', 'Third')], next_cursor: null } : { items: [summary('c1', 'First'), summary('c2', 'Second')], next_cursor: 'p2' };
      return new Response(JSON.stringify(page), { status: 200 });
    });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    fetchMock.mockReset();
    act(() => setConversationStreaming('c1', false));
  });

  it('follows next_cursor as the end of the list comes into view', async () => {
    render(<MemoryRouter><ConversationSidebarList /></MemoryRouter>);
    expect(await screen.findByText('Third')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'First' })).toHaveAttribute('href', '/c/c1');
    expect(fetchMock.mock.calls.map(([url]) => url)).toEqual([
      '/api/conversations/?limit=30',
      '/api/conversations/?limit=30&cursor=p2',
    ]);
  });

  it('marks a conversation whose answer is streaming and refetches when told', async () => {
    render(<MemoryRouter><ConversationSidebarList /></MemoryRouter>);
    await screen.findByText('Third');
    expect(screen.queryByRole('img', { name: 'answer in progress' })).toBeNull();
    act(() => setConversationStreaming('c1', true));
    expect(screen.getByRole('link', { name: /First/ })).toContainElement(screen.getByRole('img', { name: 'answer in progress' }));
    const calls = fetchMock.mock.calls.length;
    act(() => conversationsChanged());
    await waitFor(() => expect(fetchMock.mock.calls.length).toBeGreaterThan(calls));
  });
});
