import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationSummary } from '../../../lib/protocol';
import { HistoryPage } from './HistoryPage';

const items: ConversationSummary[] = [
  { id: 'c1', title: 'Rust lifetimes', created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-02T00:00:00Z', message_count: 4, preview: 'why does the borrow checker complain' },
  { id: 'c2', title: 'Dinner ideas', created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z', message_count: 2, preview: 'something with the borrowed pan' },
];

describe('HistoryPage', () => {
  const fetchMock = vi.fn();
  beforeEach(() => {
    vi.stubGlobal('fetch', fetchMock);
    const deleted = new Set<string>();
    fetchMock.mockImplementation(async (url: string, init: RequestInit) => {
      if (init.method === 'DELETE') {
        deleted.add(url.split('/')[3]);
        return new Response(null, { status: 204 });
      }
      const q = new URL(url, 'http://x').searchParams.get('q');
      const live = items.filter((c) => !deleted.has(c.id));
      const found = q ? live.filter((c) => (c.title + c.preview).toLowerCase().includes(q.toLowerCase())) : live;
      return new Response(JSON.stringify({ items: found, next_cursor: null }), { status: 200 });
    });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    fetchMock.mockReset();
  });

  it('searches and highlights the query where it matched', async () => {
    render(<MemoryRouter><HistoryPage /></MemoryRouter>);
    await screen.findByText('Dinner ideas');
    await userEvent.type(screen.getByRole('searchbox'), 'borrow');
    await waitFor(() => expect(fetchMock.mock.calls.some(([url]) => String(url).includes('q=borrow'))).toBe(true));
    await waitFor(() => expect(document.querySelectorAll('mark')).toHaveLength(2));
    expect([...document.querySelectorAll('mark')].map((m) => m.textContent)).toEqual(['borrow', 'borrow']);
  });

  it('deletes only after confirmation and offers both exports', async () => {
    render(<MemoryRouter><HistoryPage /></MemoryRouter>);
    await screen.findByText('Dinner ideas');
    expect(screen.getAllByRole('link', { name: 'Export JSON' })[0]).toHaveAttribute('href', '/api/conversations/c1/export/?format=json');
    expect(screen.getAllByRole('link', { name: 'Export Markdown' })[0]).toHaveAttribute('href', '/api/conversations/c1/export/?format=markdown');

    await userEvent.click(screen.getByRole('button', { name: 'Delete Dinner ideas' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete conversation?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(fetchMock.mock.calls.some(([, init]) => init.method === 'DELETE')).toBe(false);

    await userEvent.click(screen.getByRole('button', { name: 'Delete Dinner ideas' }));
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.queryByText('Dinner ideas')).toBeNull());
    const deleteCall = fetchMock.mock.calls.find(([, init]) => init.method === 'DELETE');
    expect(deleteCall?.[0]).toBe('/api/conversations/c2/');
  });
});
