import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { afterEach, describe, expect, it } from 'vitest';
import { SharedChatPage } from './SharedChatPage';
import { respond, stubFetch } from '../../../test/respond';


const shared = {
  title: 'Trip plans',
  shared_by: 'Alice',
  created_at: '2026-12-06T10:00:00Z',
  messages: [
    { role: 'user', content: 'Plan <b>three</b> days', reasoning: '', model: null, status: 'complete', created_at: '' },
    { role: 'assistant', content: '**Day 1**: Alfama <img src=x onerror=alert(1)>', reasoning: '', model: 'm1', status: 'complete', created_at: '' },
  ],
};

function page() {
  return render(
    <MemoryRouter initialEntries={['/s/tok']}>
      <Routes>
        <Route path="/s/:token" element={<SharedChatPage token="tok" />} />
        <Route path="/c/:id" element={<p>copied chat</p>} />
      </Routes>
    </MemoryRouter>,
  );
}

describe('SharedChatPage', () => {
  const fetchMock = stubFetch();
  afterEach(() => document.getElementById('app-bootstrap')?.remove());

  it('shows the shared messages safely and continues them in my chats', async () => {
    const script = document.createElement('script');
    script.id = 'app-bootstrap';
    script.type = 'application/json';
    script.textContent = JSON.stringify({ username: 'bob' });
    document.body.append(script);
    fetchMock.mockResolvedValueOnce(respond(200, shared)).mockResolvedValueOnce(respond(201, { conversation_id: 'c9' }));
    const { container } = page();
    expect(await screen.findByRole('heading', { name: 'Trip plans' })).toBeInTheDocument();
    expect(screen.getByText(/Shared by Alice/)).toBeInTheDocument();
    expect(screen.getByText('Plan <b>three</b> days')).toBeInTheDocument(); // text, not markup
    expect(screen.getByText('Day 1')).toBeInTheDocument();
    expect(container.querySelector('img')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Continue in my chats' }));
    expect(await screen.findByText('copied chat')).toBeInTheDocument();
    expect(fetchMock.mock.calls[1][0]).toBe('/api/shares/tok/copy/');
  });

  it('says so for a revoked or unknown link', async () => {
    fetchMock.mockResolvedValueOnce(respond(404, { error: { code: 'not_found', message: 'No such link.' } }));
    page();
    expect(await screen.findByRole('alert')).toHaveTextContent('This link does not exist or was revoked.');
  });
});
