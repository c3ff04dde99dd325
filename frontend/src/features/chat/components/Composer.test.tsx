import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { Composer } from './Composer';

function Harness({ onSend, onStop = () => {}, streaming = false }: { onSend: (t: string) => void; onStop?: () => void; streaming?: boolean }) {
  const [draft, setDraft] = useState('');
  return <Composer draft={draft} onDraftChange={setDraft} onSend={onSend} onStop={onStop} streaming={streaming} />;
}

describe('Composer', () => {
  it('sends on Enter and breaks the line on Shift+Enter', async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    const box = screen.getByRole('textbox', { name: 'Message' });
    await userEvent.type(box, 'first{Shift>}{Enter}{/Shift}second');
    expect(onSend).not.toHaveBeenCalled();
    expect(box).toHaveValue('first\nsecond');
    await userEvent.type(box, '{Enter}');
    expect(onSend).toHaveBeenCalledExactlyOnceWith('first\nsecond');
  });

  it('does not send a blank message', async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), '   {Enter}');
    expect(onSend).not.toHaveBeenCalled();
  });

  it('shows Stop instead of Send while an answer streams, and Enter does not send', async () => {
    const onSend = vi.fn();
    const onStop = vi.fn();
    render(<Harness onSend={onSend} onStop={onStop} streaming />);
    expect(screen.queryByRole('button', { name: 'Send message' })).toBeNull();
    await userEvent.type(screen.getByRole('textbox', { name: 'Message' }), 'next{Enter}');
    expect(onSend).not.toHaveBeenCalled();
    await userEvent.click(screen.getByRole('button', { name: 'Stop generating' }));
    expect(onStop).toHaveBeenCalledOnce();
  });
});
