import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { useConversationsVersion } from '../../../lib/liveState';
import type { ImportJob } from '../../../lib/protocol';
import { ImportExport } from './ImportExport';
import { respond, stubFetch } from '../../../test/respond';


const job = (overrides: Partial<ImportJob> = {}): ImportJob => ({
  id: 'j1', filename: 'conversations.json', size: 10, status: 'running', phase: 'reading', done: 0, total: 0,
  imported: 0, skipped: 0, error: '', created_at: '', ...overrides,
});

function Version() {
  return <span data-testid="version">{useConversationsVersion()}</span>;
}

describe('ImportExport', () => {
  const fetchMock = stubFetch();

  it('uploads the file, follows the job and refreshes the lists when conversations came in', async () => {
    fetchMock
      .mockResolvedValueOnce(respond(202, job()))
      .mockResolvedValueOnce(respond(200, job({ done: 2, total: 4 })))
      .mockResolvedValueOnce(respond(200, job({ status: 'done', phase: 'done', done: 4, total: 4, imported: 3, skipped: 1 })));
    render(<><ImportExport /><Version /></>);
    const before = Number(screen.getByTestId('version').textContent);
    const file = new File(['[]'], 'conversations.json', { type: 'application/json' });
    await userEvent.upload(screen.getByLabelText('Conversations file to import'), file);
    const [url, init] = fetchMock.mock.calls[0];
    expect(url).toBe('/api/imports/');
    expect(init.method).toBe('POST');
    expect(init.headers['X-CSRFToken']).toBe('tok123');
    expect(init.headers['Content-Type']).toBeUndefined(); // the browser sets the multipart boundary
    expect((init.body as FormData).get('file')).toBeInstanceOf(File);
    expect(await screen.findByText('Reading 2 of 4…', {}, { timeout: 3000 })).toBeInTheDocument();
    expect(await screen.findByText(/Imported 3 conversations \(1 already here, skipped\)/, {}, { timeout: 3000 })).toBeInTheDocument();
    expect(fetchMock.mock.calls[1][0]).toBe('/api/imports/j1/');
    await waitFor(() => expect(Number(screen.getByTestId('version').textContent)).toBe(before + 1));
    expect(screen.getByRole('link', { name: 'Export all (zip)' })).toHaveAttribute('href', '/api/export/');
  });

  it('says why a file failed, and why an upload was refused', async () => {
    fetchMock
      .mockResolvedValueOnce(respond(202, job()))
      .mockResolvedValueOnce(respond(200, job({ status: 'failed', phase: 'done', error: 'The zip has an unsafe path name.' })))
      .mockResolvedValueOnce(respond(413, { error: { code: 'too_large', message: 'The file has 9 bytes; an import takes at most 1.' } }));
    render(<ImportExport />);
    const input = screen.getByLabelText('Conversations file to import');
    await userEvent.upload(input, new File(['x'], 'bad.zip'));
    expect(await screen.findByText(/Import failed, nothing was imported: The zip has an unsafe path name/, {}, { timeout: 3000 })).toBeInTheDocument();
    await userEvent.upload(input, new File(['x'], 'big.zip'));
    expect(await screen.findByText('The file has 9 bytes; an import takes at most 1.')).toBeInTheDocument();
  });
});
