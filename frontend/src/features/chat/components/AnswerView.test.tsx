import { fireEvent, render, screen, within } from '@testing-library/react';
import { useEffect, useState } from 'react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../../lib/protocol';
import { makeMessage } from '../../../test/factories';
import { newestLeaf, shownTurns } from '../branch';
import { AnswerView } from './AnswerView';
import { MessageList } from './MessageList';
import { ThinkingPanel } from './ThinkingPanel';

describe('ThinkingPanel', () => {
  it('is collapsed once thinking is over and opens and closes on click', async () => {
    render(<ThinkingPanel text="step by step" thinking={false} />);
    const toggle = screen.getByRole('button', { name: /thinking/i });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(screen.queryByText('step by step')).toBeNull();
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    expect(screen.getByText('step by step')).toBeVisible();
    await userEvent.click(toggle);
    expect(screen.queryByText('step by step')).toBeNull();
  });

  it('is open while the model is still thinking', () => {
    render(<ThinkingPanel text="hmm" thinking />);
    expect(screen.getByText('hmm')).toBeInTheDocument();
  });
});

describe('AnswerView', () => {
  it('shows error, stopped and interrupted statuses plainly', () => {
    const { rerender } = render(
      <AnswerView answer={makeMessage({ status: 'error', error: 'upstream timed out', content: 'part' })} versionIndex={0} versionCount={1} onVersionChange={() => {}} />,
    );
    expect(screen.getByRole('alert')).toHaveTextContent('upstream timed out');
    rerender(<AnswerView answer={makeMessage({ status: 'stopped', content: 'x' })} versionIndex={0} versionCount={1} onVersionChange={() => {}} />);
    expect(screen.getByText('Stopped.')).toBeInTheDocument();
    rerender(<AnswerView answer={makeMessage({ status: 'interrupted', content: 'x' })} versionIndex={0} versionCount={1} onVersionChange={() => {}} />);
    expect(screen.getByText(/Interrupted/)).toBeInTheDocument();
  });
});

describe('AnswerView context note', () => {
  const view = (context_omitted?: number) => (
    <AnswerView answer={makeMessage({ content: 'x', context_omitted })} versionIndex={0} versionCount={1} onVersionChange={() => {}} />
  );

  it('says how many earlier messages the model did not see', () => {
    const { rerender } = render(view(6));
    expect(screen.getByText("6 earlier messages were left out of the model's context.")).toBeInTheDocument();
    rerender(view(1));
    expect(screen.getByText("1 earlier message was left out of the model's context.")).toBeInTheDocument();
  });

  it('says nothing when the whole conversation was sent, or the server does not tell', () => {
    const { rerender } = render(view(0));
    expect(screen.queryByText(/left out of the model/)).toBeNull();
    rerender(view(undefined));
    expect(screen.queryByText(/left out of the model/)).toBeNull();
  });
});

describe('MessageList versions', () => {
  const user = makeMessage({ id: 'u1', role: 'user', content: 'question' });
  const v1 = makeMessage({ id: 'a1', parent_id: 'u1', content: 'first answer' });
  const v2 = makeMessage({ id: 'a2', parent_id: 'u1', content: 'second answer' });
  const v3 = makeMessage({ id: 'a3', parent_id: 'u1', content: 'third answer' });

  /** The list as ChatPage drives it: the shown branch ends at `leaf`; a switch moves it. */
  function Branches({ messages, leaf = null, onEdit }: { messages: Message[]; leaf?: string | null; onEdit?: (m: Message, c: string) => void }) {
    const [shown, setShown] = useState<string | null>(leaf);
    useEffect(() => setShown(leaf), [leaf]);
    return (
      <MessageList
        turns={shownTurns(messages, shown)}
        pending={[]}
        canRegenerate
        onRegenerate={() => {}}
        onSwitch={(id) => setShown(newestLeaf(messages, id))}
        onEdit={onEdit}
      />
    );
  }

  it('shows the shown version and switches between versions', async () => {
    render(<Branches messages={[user, v1, v2]} />);
    expect(screen.getByText('2 / 2')).toBeInTheDocument();
    expect(screen.getByText('second answer')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next version' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Previous version' }));
    expect(screen.getByText('1 / 2')).toBeInTheDocument();
    expect(screen.getByText('first answer')).toBeInTheDocument();
    expect(screen.queryByText('second answer')).toBeNull();
  });

  it('jumps to a newly regenerated version', async () => {
    const { rerender } = render(<Branches messages={[user, v1, v2]} leaf="a2" />);
    await userEvent.click(screen.getByRole('button', { name: 'Previous version' }));
    rerender(<Branches messages={[user, v1, v2, v3]} leaf="a3" />);
    expect(screen.getByText('3 / 3')).toBeInTheDocument();
    expect(screen.getByText('third answer')).toBeInTheDocument();
  });

  it('switches edits of a question with the branch under each', async () => {
    const edit = makeMessage({ id: 'u1b', role: 'user', content: 'question, edited' });
    const editAnswer = makeMessage({ id: 'a1b', parent_id: 'u1b', content: 'answer to the edit' });
    render(<Branches messages={[user, v1, edit, editAnswer]} />);
    expect(screen.getByText('question, edited')).toBeInTheDocument();
    expect(screen.getByText('answer to the edit')).toBeInTheDocument();
    expect(within(screen.getByRole('group', { name: 'Message versions' })).getByText('2 / 2')).toBeInTheDocument();
    expect(screen.queryByRole('group', { name: 'Answer versions' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Previous edit' }));
    expect(screen.getByText('question')).toBeInTheDocument();
    expect(screen.getByText('first answer')).toBeInTheDocument();
    expect(screen.queryByText('answer to the edit')).toBeNull();
  });

  it('edits a question in place and sends the edit', async () => {
    const sent: [string, string][] = [];
    render(<Branches messages={[user, v1]} onEdit={(m, c) => sent.push([m.id, c])} />);
    await userEvent.click(screen.getByRole('button', { name: 'Edit message' }));
    const box = screen.getByRole('textbox', { name: 'Edit message' });
    expect(box).toHaveValue('question');
    await userEvent.clear(box);
    await userEvent.type(box, 'better question{Enter}');
    expect(sent).toEqual([['u1', 'better question']]);
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Edit message' }));
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('textbox', { name: 'Edit message' })).toBeNull();
    expect(sent).toHaveLength(1);
  });

  it('offers Regenerate and Edit only when allowed', () => {
    const { rerender } = render(<MessageList turns={shownTurns([user, v1], null)} pending={[]} canRegenerate onRegenerate={() => {}} onEdit={() => {}} />);
    expect(screen.getByRole('button', { name: 'Regenerate answer' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Edit message' })).toBeInTheDocument();
    rerender(<MessageList turns={shownTurns([user, v1], null)} pending={[]} canRegenerate={false} onRegenerate={() => {}} onEdit={() => {}} />);
    expect(screen.queryByRole('button', { name: 'Regenerate answer' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Edit message' })).toBeNull();
  });
});

describe('MessageList auto-scroll', () => {
  const user = makeMessage({ id: 'u9', role: 'user', content: 'q' });
  const answer = (content: string) => makeMessage({ id: 'a9', parent_id: 'u9', status: 'streaming', content });

  function setup() {
    const view = render(<MessageList turns={shownTurns([user, answer('a')], null)} pending={[]} canRegenerate={false} onRegenerate={() => {}} />);
    const log = screen.getByRole('log');
    let scrollHeight = 1000;
    Object.defineProperty(log, 'scrollHeight', { configurable: true, get: () => scrollHeight });
    const grow = (text: string) => {
      scrollHeight += 500;
      view.rerender(<MessageList turns={shownTurns([user, answer(text)], null)} pending={[]} canRegenerate={false} onRegenerate={() => {}} />);
    };
    return { log, grow };
  }

  it('follows the answer while the reader is at the bottom', () => {
    const { log, grow } = setup();
    grow('a longer answer');
    expect(log.scrollTop).toBe(1500);
  });

  it('stops following as soon as the reader scrolls up', async () => {
    const { log, grow } = setup();
    log.scrollTop = 0;
    fireEvent.wheel(log, { deltaY: -100 });
    grow('a longer answer, still growing'); // grows before the scroll event arrives
    expect(log.scrollTop).toBe(0);
    fireEvent.scroll(log);
    expect(screen.getByRole('button', { name: 'Scroll to the latest message' })).toBeInTheDocument();
  });
});
