import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { conversationsChanged, setConversationStreaming } from '../../../lib/liveState';
import type { ConversationSummary } from '../../../lib/protocol';
import { ConversationSidebarList } from './Sidebar';

const folders = [{ id: 'f1', name: 'Work', model: '', system_prompt: '', conversation_count: 1, created_at: '' }];

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
      const params = new URL(url, 'http://x').searchParams;
      if (url.startsWith('/api/folders/')) return new Response(JSON.stringify(folders), { status: 200 });
      if (params.get('folder') === 'f1') return new Response(JSON.stringify({ items: [summary('c9', 'Filed')], next_cursor: null }), { status: 200 });
      if (params.get('pinned') === 'true') return new Response(JSON.stringify({ items: [{ ...summary('c7', 'Pinned one'), pinned: true }], next_cursor: null }), { status: 200 });
      const cursor = params.get('cursor');
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
    // Recent: unfiled, unpinned, not archived; pinned and folders each their own request.
    const recent = fetchMock.mock.calls.map(([url]) => url as string).filter((url) => url.includes('folder=none'));
    expect(recent).toEqual([
      '/api/conversations/?limit=30&archived=false&pinned=false&folder=none',
      '/api/conversations/?limit=30&cursor=p2&archived=false&pinned=false&folder=none',
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

  it('shows pinned ones first, the conversations of a folder once opened, and organizes from the menu', async () => {
    render(<MemoryRouter><ConversationSidebarList /></MemoryRouter>);
    const pinned = await screen.findByRole('list', { name: 'Pinned conversations' });
    expect(pinned).toHaveTextContent('Pinned one');
    const folder = await screen.findByRole('button', { name: 'Folder Work, 1 conversation' });
    expect(screen.queryByText('Filed')).toBeNull(); // loaded only when opened
    await userEvent.click(folder);
    expect(await screen.findByRole('link', { name: 'Filed' })).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Options for First' }));
    fetchMock.mockImplementationOnce(async () => new Response(JSON.stringify({ ...summary('c1', 'First'), folder_id: 'f1' }), { status: 200 }));
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Move to folder' }), 'f1');
    const patch = fetchMock.mock.calls.find(([, init]) => init?.method === 'PATCH');
    expect(patch?.[0]).toBe('/api/conversations/c1/');
    expect(JSON.parse(patch?.[1].body)).toEqual({ folder_id: 'f1' });
  });
});
