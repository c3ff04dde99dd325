/**
 * A conversation's messages as a tree (docs/protocol.md, "Branches"): an answer's parent is
 * its question, a question's parent the answer it follows; messages with one parent are
 * versions of each other (edits, regenerations). The page shows one branch: the path from
 * the first message down to the conversation's `active_leaf_id`.
 */
import type { Message } from '../../lib/protocol';

/** Where the shown branch ends: the stored leaf, else (older servers) the newest message. */
export function shownTip(messages: Message[], activeLeafId: string | null | undefined): Message | undefined {
  const leaf = activeLeafId ? messages.find((m) => m.id === activeLeafId) : undefined;
  return leaf ?? messages[messages.length - 1];
}

/** The shown branch, first message first. */
export function shownPath(messages: Message[], activeLeafId: string | null | undefined): Message[] {
  const byId = new Map(messages.map((m) => [m.id, m]));
  const path: Message[] = [];
  let current = shownTip(messages, activeLeafId);
  // Bounded: a bad parent link cannot loop forever.
  while (current && path.length < messages.length) {
    path.push(current);
    current = current.parent_id ? byId.get(current.parent_id) : undefined;
  }
  return path.reverse();
}

/** The end of the branch through `id`: its newest child, that child's newest child, ... */
export function newestLeaf(messages: Message[], id: string): string {
  const newestChild = new Map<string, string>();
  for (const message of messages) if (message.parent_id) newestChild.set(message.parent_id, message.id);
  let leaf = id;
  for (let step = 0; step < messages.length && newestChild.has(leaf); step += 1) leaf = newestChild.get(leaf)!;
  return leaf;
}

/** The versions of a message: it and its siblings, oldest first. */
export function versionsOf(messages: Message[], message: Message): Message[] {
  return messages.filter((m) => m.parent_id === message.parent_id && m.role === message.role);
}

/** One question of the shown branch with its shown answer, and the versions of each. */
export interface Turn {
  key: string;
  user: Message | null;
  userVersions: Message[];
  answer: Message | null;
  answerVersions: Message[];
}

/** The shown branch as turns (a question and the answer that follows it on the branch). */
export function shownTurns(messages: Message[], activeLeafId: string | null | undefined): Turn[] {
  // Versions by (parent, role), in one pass: this runs on every rendered frame of an answer.
  const versions = new Map<string, Message[]>();
  for (const message of messages) {
    const key = `${message.parent_id}|${message.role}`;
    const list = versions.get(key);
    if (list) list.push(message);
    else versions.set(key, [message]);
  }
  const of = (message: Message) => versions.get(`${message.parent_id}|${message.role}`) ?? [message];
  const turns: Turn[] = [];
  for (const message of shownPath(messages, activeLeafId)) {
    const last = turns[turns.length - 1];
    if (message.role === 'assistant' && last && last.answer === null && last.user?.id === message.parent_id) {
      last.answer = message;
      last.answerVersions = of(message);
    } else if (message.role === 'user') {
      turns.push({ key: message.id, user: message, userVersions: of(message), answer: null, answerVersions: [] });
    } else {
      // An answer without its question on the branch (only in damaged data): its own turn.
      turns.push({ key: message.id, user: null, userVersions: [], answer: message, answerVersions: of(message) });
    }
  }
  return turns;
}
