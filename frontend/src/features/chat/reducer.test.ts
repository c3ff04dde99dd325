import { describe, expect, it } from 'vitest';
import { makeMessage } from '../../test/factories';
import { newestLeaf, shownPath, shownTurns } from './branch';
import { applyFrame, initialChatState, type ChatAction, type ChatState } from './reducer';

function run(actions: ChatAction[], state: ChatState = initialChatState) {
  let gap = false;
  for (const action of actions) {
    const result = applyFrame(state, action);
    state = result.state;
    gap = gap || result.gap;
  }
  return { state, gap };
}

const user = makeMessage({ id: 'u1', role: 'user', content: 'hi', client_id: 'k1' });
const streaming = makeMessage({
  id: 'a1',
  parent_id: 'u1',
  status: 'streaming',
  content: 'Hel',
  reasoning: 'hmm',
  seq: 2,
});
const snapshot: ChatAction = {
  type: 'conversation.snapshot',
  conversation: { id: 'c1', title: 'T', created_at: '', updated_at: '' },
  messages: [user, streaming],
};
const delta = (seq: number, text: string, part: 'content' | 'reasoning' = 'content'): ChatAction => ({
  type: 'message.delta',
  message_id: 'a1',
  seq,
  part,
  delta: text,
});

describe('chat reducer', () => {
  it('replaces state with a snapshot, then folds in the next deltas', () => {
    const before = run([{ type: 'conversation.snapshot', conversation: null, messages: [makeMessage()] }]).state;
    const { state, gap } = run([snapshot, delta(3, 'lo'), delta(4, ' world')], before);
    expect(gap).toBe(false);
    expect(state.loaded).toBe(true);
    expect(state.conversation?.title).toBe('T');
    expect(state.messages.map((m) => m.id)).toEqual(['u1', 'a1']);
    expect(state.messages[1].content).toBe('Hello world');
    expect(state.messages[1].seq).toBe(4);
  });

  it('ignores deltas already folded into the snapshot or seen twice', () => {
    const { state, gap } = run([snapshot, delta(1, 'X'), delta(2, 'Y'), delta(3, 'lo'), delta(3, 'lo')]);
    expect(gap).toBe(false);
    expect(state.messages[1].content).toBe('Hello');
    expect(state.messages[1].seq).toBe(3);
  });

  it('flags a gap and leaves the message untouched when a seq is skipped', () => {
    const afterSnapshot = run([snapshot]).state;
    const { state, gap } = applyFrame(afterSnapshot, delta(5, 'late'));
    expect(gap).toBe(true);
    expect(state).toBe(afterSnapshot);
  });

  it('flags a gap for a delta of a message it has never seen', () => {
    const { gap } = applyFrame(run([snapshot]).state, { ...delta(1, 'x'), message_id: 'zzz' } as ChatAction);
    expect(gap).toBe(true);
  });

  it('counts one seq across the content and reasoning parts', () => {
    const { state, gap } = run([snapshot, delta(3, ' more', 'reasoning'), delta(4, 'lo'), delta(4, 'lo', 'reasoning')]);
    expect(gap).toBe(false);
    expect(state.messages[1].reasoning).toBe('hmm more');
    expect(state.messages[1].content).toBe('Hello');
  });

  it('replaces the message with its final state on message.done and ignores later deltas', () => {
    const final = { ...streaming, status: 'stopped' as const, content: 'Hello!', seq: 9 };
    const { state, gap } = run([snapshot, delta(3, 'lo'), { type: 'message.done', message: final }, delta(4, 'x')]);
    expect(gap).toBe(false);
    expect(state.messages[1]).toEqual(final);
  });

  it('adds created messages and confirms the pending send with the same client_id', () => {
    const { state } = run([
      { type: 'conversation.snapshot', conversation: null, messages: [] },
      { type: 'local.pending', send: { client_id: 'k1', content: 'hi' } },
    ]);
    expect(state.pending).toHaveLength(1);
    const after = run([{ type: 'message.created', message: user }], state).state;
    expect(after.pending).toHaveLength(0);
    expect(after.messages).toEqual([user]);
  });

  it('does not roll back streamed text when a stale message.created arrives', () => {
    const { state } = run([snapshot, delta(3, 'lo'), { type: 'message.created', message: { ...streaming, content: '', seq: 0 } }]);
    expect(state.messages[1].content).toBe('Hello');
  });

  it('updates the title and records server errors', () => {
    const { state } = run([
      snapshot,
      { type: 'conversation.updated', conversation: { id: 'c1', title: 'New', created_at: '', updated_at: '' } },
      { type: 'error', code: 'rate_limited', message: 'slow down', retry_after: 3 },
    ]);
    expect(state.conversation?.title).toBe('New');
    expect(state.error).toMatchObject({ code: 'rate_limited', retry_after: 3 });
  });

  it('groups answers sharing a parent_id as versions of one turn', () => {
    const v2 = makeMessage({ id: 'a2', parent_id: 'u1', content: 'second' });
    const turns = shownTurns([user, streaming, v2], null);
    expect(turns).toHaveLength(1);
    expect(turns[0].answer?.id).toBe('a2');
    expect(turns[0].answerVersions.map((m) => m.id)).toEqual(['a1', 'a2']);
  });
});

describe('the shown branch', () => {
  // q1 -> a1 -> q2 -> a2, and an edit of q2 (q2b -> a2b), and a regeneration of a1 (a1b).
  const q1 = makeMessage({ id: 'q1', role: 'user', content: 'q1' });
  const a1 = makeMessage({ id: 'a1', parent_id: 'q1' });
  const q2 = makeMessage({ id: 'q2', role: 'user', parent_id: 'a1' });
  const a2 = makeMessage({ id: 'a2', parent_id: 'q2' });
  const q2b = makeMessage({ id: 'q2b', role: 'user', parent_id: 'a1' });
  const a2b = makeMessage({ id: 'a2b', parent_id: 'q2b' });
  const a1b = makeMessage({ id: 'a1b', parent_id: 'q1' });
  const tree = [q1, a1, q2, a2, q2b, a2b, a1b];
  const ids = (messages: { id: string }[]) => messages.map((m) => m.id);

  it('follows parent links from the stored leaf, else from the newest message', () => {
    expect(ids(shownPath(tree, 'a2'))).toEqual(['q1', 'a1', 'q2', 'a2']);
    expect(ids(shownPath(tree, 'a2b'))).toEqual(['q1', 'a1', 'q2b', 'a2b']);
    expect(ids(shownPath(tree, null))).toEqual(['q1', 'a1b']);
    expect(ids(shownPath(tree, 'gone'))).toEqual(['q1', 'a1b']);
    expect(shownPath([], null)).toEqual([]);
  });

  it('switches to the newest leaf under a message, with versions per turn', () => {
    expect(newestLeaf(tree, 'a1')).toBe('a2b');
    expect(newestLeaf(tree, 'q2')).toBe('a2');
    expect(newestLeaf(tree, 'a2')).toBe('a2');
    const turns = shownTurns(tree, 'a2');
    expect(turns.map((t) => [t.user?.id, t.answer?.id])).toEqual([['q1', 'a1'], ['q2', 'a2']]);
    expect(ids(turns[0].answerVersions)).toEqual(['a1', 'a1b']);
    expect(ids(turns[1].userVersions)).toEqual(['q2', 'q2b']);
  });

  it('a snapshot, a new answer, an update and a local switch each set it', () => {
    const conversation = { id: 'c1', title: 't', created_at: '', updated_at: '', active_leaf_id: 'a2' };
    let state = applyFrame(initialChatState, { type: 'conversation.snapshot', conversation, messages: tree }).state;
    expect(state.shownLeaf).toBe('a2');
    state = applyFrame(state, { type: 'local.switch', messageId: 'q2b' }).state;
    expect(state.shownLeaf).toBe('a2b');
    const answer = makeMessage({ id: 'a3', parent_id: 'q2', status: 'streaming' });
    state = applyFrame(state, { type: 'message.created', message: answer }).state;
    expect(state.shownLeaf).toBe('a3');
    state = applyFrame(state, { type: 'conversation.updated', conversation: { ...conversation, active_leaf_id: 'a1b' } }).state;
    expect(state.shownLeaf).toBe('a1b');
    // An older server sends no active_leaf_id: the branch stays.
    state = applyFrame(state, { type: 'conversation.updated', conversation: { id: 'c1', title: 'x', created_at: '', updated_at: '' } }).state;
    expect(state.shownLeaf).toBe('a1b');
  });
});
