import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { IconButton } from '../../../components/ui/IconButton';
import { ArrowDownIcon } from '../../../components/ui/icons';
import type { Message } from '../../../lib/protocol';
import type { Turn } from '../branch';
import type { PendingSend } from '../reducer';
import { AnswerView } from './AnswerView';
import { UserMessageView } from './UserMessageView';

type Row = { kind: 'turn'; turn: Turn } | { kind: 'pending'; send: PendingSend };

interface MessageListProps {
  /** The shown branch (branch.ts). */
  turns: Turn[];
  pending: PendingSend[];
  /** Nothing is streaming and the socket is up: answers can be regenerated, questions edited. */
  canRegenerate: boolean;
  /** Answer again: an answer's question (its id), or without an id the shown branch's last. */
  onRegenerate: (messageId?: string) => void;
  /** Show another version (an edit, a regeneration) and the branch under it. */
  onSwitch?: (messageId: string) => void;
  /** Send an edited question: a new version beside `message`. */
  onEdit?: (message: Message, content: string) => void;
  /** More under each finished answer (another feature's controls, e.g. ratings). */
  answerExtras?: (answer: Message) => ReactNode;
}

/** How close to the bottom still counts as "reading the latest". */
const STICK_THRESHOLD_PX = 48;

/**
 * The conversation, virtualized (only rows on screen are in the DOM). It follows a
 * growing answer only while the reader is at the bottom; scrolling up stops that.
 */
export function MessageList({ turns, pending, canRegenerate, onRegenerate, onSwitch, onEdit, answerExtras }: MessageListProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const [atBottom, setAtBottom] = useState(true);

  const rows: Row[] = [
    ...turns.map((turn): Row => ({ kind: 'turn', turn })),
    ...pending.map((send): Row => ({ kind: 'pending', send })),
  ];

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => 160,
    overscan: 6,
    getItemKey: (index) => {
      const row = rows[index];
      return row.kind === 'turn' ? row.turn.key : `pending-${row.send.client_id}`;
    },
    initialRect: { width: 800, height: 800 },
  });

  const totalSize = virtualizer.getTotalSize();
  const lastTurn = turns[turns.length - 1];
  const lastAnswer = lastTurn?.answer;
  const growth = `${rows.length}:${lastAnswer?.content.length ?? 0}:${lastAnswer?.reasoning.length ?? 0}:${totalSize}`;

  const scrollToBottom = useCallback(() => {
    const element = scroller.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, []);

  useLayoutEffect(() => {
    if (stick.current) scrollToBottom();
  }, [growth, scrollToBottom]);

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    const bottom = element.scrollHeight - element.scrollTop - element.clientHeight < STICK_THRESHOLD_PX;
    stick.current = bottom;
    if (bottom !== atBottom) setAtBottom(bottom);
  };

  // Scroll events arrive a frame late; an answer growing in between must not pull the
  // reader back down, so any upward intent releases the bottom at once.
  const release = () => {
    stick.current = false;
  };
  const onKeyDown = (event: React.KeyboardEvent) => {
    if (['ArrowUp', 'PageUp', 'Home'].includes(event.key)) release();
  };

  const versions = (list: Message[], current: Message) => ({
    index: list.findIndex((m) => m.id === current.id),
    count: list.length,
    onChange: (next: number) => onSwitch?.(list[next].id),
  });

  const renderTurn = (turn: Turn, isLast: boolean) => {
    const { user, answer } = turn;
    return (
      <div className="space-y-3">
        {user && (
          <UserMessageView
            content={user.content}
            versions={versions(turn.userVersions, user)}
            onEdit={canRegenerate && onEdit ? (content) => onEdit(user, content) : undefined}
          />
        )}
        {answer && (
          <AnswerView
            answer={answer}
            versionIndex={versions(turn.answerVersions, answer).index}
            versionCount={turn.answerVersions.length}
            onVersionChange={versions(turn.answerVersions, answer).onChange}
            onRegenerate={canRegenerate ? () => onRegenerate(answer.id) : undefined}
            extras={answerExtras}
          />
        )}
        {!answer && user && isLast && canRegenerate && (
          // The answer was never stored (e.g. the server failed first): ask again.
          <button type="button" onClick={() => onRegenerate(user.id)} className="text-sm text-sky-700 underline dark:text-sky-400">
            No answer. Answer again
          </button>
        )}
      </div>
    );
  };

  return (
    <div className="relative min-h-0 flex-1">
      <div
        ref={scroller}
        onScroll={onScroll}
        onWheel={(event) => event.deltaY < 0 && release()}
        onTouchMove={release}
        onKeyDown={onKeyDown}
        tabIndex={0}
        className="h-full overflow-y-auto [overflow-anchor:none]"
        role="log"
        aria-label="Conversation"
        aria-live="off"
      >
        <div className="relative mx-auto w-full max-w-3xl px-4" style={{ height: totalSize }}>
          {virtualizer.getVirtualItems().map((item) => {
            const row = rows[item.index];
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className="absolute top-0 right-4 left-4 py-3"
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {row.kind === 'turn' ? (
                  renderTurn(row.turn, row.turn === lastTurn && pending.length === 0)
                ) : (
                  <UserMessageView content={row.send.content} sending />
                )}
              </div>
            );
          })}
        </div>
      </div>
      {!atBottom && (
        <IconButton
          label="Scroll to the latest message"
          onClick={() => {
            stick.current = true;
            setAtBottom(true);
            scrollToBottom();
          }}
          className="absolute bottom-3 left-1/2 -translate-x-1/2 rounded-full border border-zinc-300 bg-white shadow dark:border-zinc-700 dark:bg-zinc-900"
        >
          <ArrowDownIcon />
        </IconButton>
      )}
    </div>
  );
}
