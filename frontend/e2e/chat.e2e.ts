/**
 * The chat page against the real server: streaming, thinking, stop, regenerate, reload
 * mid-answer, a second tab, XSS, and another user's conversation.
 */
import {
  answerText,
  answers,
  badge,
  expect,
  fetchConversation,
  lastAnswer,
  markdownWords,
  newChat,
  recordFrames,
  renderedLength,
  renderedWords,
  test,
  waitForEnd,
  waitForText,
  type StoredMessage,
} from './fixtures';

const REASONING = 'The user wants a long answer to test streaming. I will write some Markdown.';

async function storedAnswers(page: import('@playwright/test').Page, id: string): Promise<StoredMessage[]> {
  const { status, body } = await fetchConversation(page, id);
  expect(status, 'GET /api/conversations/<id>/').toBe(200);
  return (body.messages as StoredMessage[]).filter((m) => m.role === 'assistant');
}

test('send a message and watch the answer stream, with its reasoning in the Thinking panel', async ({ page }) => {
  await newChat(page, 'Write a long answer about streaming, please.');
  const answer = lastAnswer(page);
  await expect(answer).toHaveAttribute('aria-busy', 'true');
  await expect(answer.getByRole('button', { name: /^Thinking/ })).toBeVisible();

  // The text grows over time.
  await waitForText(answer, 1);
  const samples: number[] = [];
  for (let i = 0; i < 4; i++) {
    samples.push(await renderedLength(answer));
    await page.waitForTimeout(400);
  }
  const rises = samples.slice(1).filter((length, i) => length > samples[i]).length;
  expect(rises, `lengths ${samples}`).toBeGreaterThanOrEqual(2); // (a loaded machine may stall one interval)
  for (let i = 1; i < samples.length; i++) expect(samples[i], `lengths ${samples}`).toBeGreaterThanOrEqual(samples[i - 1]);
  await expect(page.getByRole('button', { name: 'Stop generating' })).toBeVisible();

  // Once the answer text starts the panel folds; opening it shows the reasoning.
  const thinking = answer.getByRole('button', { name: 'Thinking', exact: true });
  await expect(thinking).toHaveAttribute('aria-expanded', 'false');
  await thinking.click();
  await expect(thinking).toHaveAttribute('aria-expanded', 'true');
  await expect(answer.locator(`[id="${await thinking.getAttribute('aria-controls')}"]`)).toHaveText(REASONING);

  await page.getByRole('button', { name: 'Stop generating' }).click();
  await waitForEnd(answer);
});

test('stop keeps the text generated so far and marks the answer stopped', async ({ page }) => {
  const id = await newChat(page, 'Another long answer, which I will stop.');
  const answer = lastAnswer(page);
  await waitForText(answer, 200);
  await page.getByRole('button', { name: 'Stop generating' }).click();
  await expect(answer.getByText('Stopped.', { exact: true })).toBeVisible();
  await expect(answer).toHaveAttribute('aria-busy', 'false');
  await expect(page.getByRole('button', { name: 'Send message' })).toBeVisible();

  const kept = await answerText(answer).innerText();
  expect(kept.length).toBeGreaterThanOrEqual(200);
  await page.waitForTimeout(700);
  expect(await answerText(answer).innerText(), 'no text after the stop').toBe(kept);

  const [stored] = await storedAnswers(page, id);
  expect(stored.status).toBe('stopped');
  expect(renderedWords(kept)).toEqual(markdownWords(stored.content));
});

test('regenerate adds a second version; the switcher goes 2 / 2 and back to 1 / 2', async ({ page }) => {
  const id = await newChat(page, 'Answer me twice.');
  const answer = lastAnswer(page);
  await waitForText(answer, 80);
  await page.getByRole('button', { name: 'Stop generating' }).click();
  await expect(answer.getByText('Stopped.', { exact: true })).toBeVisible();
  const first = await answerText(answer).innerText();

  await answer.getByRole('button', { name: 'Regenerate answer' }).click();
  const versions = page.getByRole('group', { name: 'Answer versions' });
  await expect(versions).toContainText('2 / 2');
  await expect(answers(page)).toHaveCount(1); // one turn, showing its newest version
  await expect(lastAnswer(page)).toHaveAttribute('aria-busy', 'true');
  await waitForText(lastAnswer(page), 50);

  await versions.getByRole('button', { name: 'Previous version' }).click();
  await expect(versions).toContainText('1 / 2');
  await expect(lastAnswer(page).getByText('Stopped.', { exact: true })).toBeVisible();
  expect(await answerText(lastAnswer(page)).innerText()).toBe(first);

  await versions.getByRole('button', { name: 'Next version' }).click();
  await expect(versions).toContainText('2 / 2');
  await waitForEnd(lastAnswer(page));
  await expect(lastAnswer(page).getByText('Stopped.', { exact: true })).toHaveCount(0);

  const stored = await storedAnswers(page, id);
  expect(stored.map((m) => m.status)).toEqual(['stopped', 'complete']);
  expect(stored[0].parent_id).toBe(stored[1].parent_id);
  expect(renderedWords(await answerText(lastAnswer(page)).innerText())).toEqual(markdownWords(stored[1].content));
});

test('reloading mid-answer shows it complete, nothing lost or repeated', async ({ page }) => {
  const id = await newChat(page, 'A long answer that survives a reload.');
  await waitForText(lastAnswer(page), 150);

  const sockets: Array<Array<Record<string, any>>> = [];
  page.on('websocket', (ws) => sockets.push(recordFrames(ws)));
  await page.reload();
  await expect(badge(page)).toHaveText('Online');
  const answer = lastAnswer(page);
  await waitForEnd(answer);

  const frames = sockets[0];
  const snapshot = frames[0];
  expect(snapshot.type).toBe('conversation.snapshot');
  const live = snapshot.messages.find((m: StoredMessage) => m.role === 'assistant');
  expect(live.status, 'the reload happened while the answer was streaming').toBe('streaming');
  expect(frames.some((f) => f.type === 'message.delta'), 'deltas after the reload').toBe(true);
  const done = frames.find((f) => f.type === 'message.done');
  expect(done?.message.status).toBe('complete');

  const [stored] = await storedAnswers(page, id);
  expect(stored.content).toBe(done!.message.content);
  expect(stored.reasoning).toBe(REASONING);
  const rendered = renderedWords(await answerText(answer).innerText());
  const expected = markdownWords(stored.content);
  expect(expected.length).toBeGreaterThan(200);
  expect(rendered).toEqual(expected); // every word once, in order
});

test('a second tab shows the same answer live', async ({ page, context }) => {
  const id = await newChat(page, 'Stream this to two tabs.');
  await waitForText(lastAnswer(page), 1);

  const other = await context.newPage();
  await other.goto(`/c/${id}`);
  const mirrored = lastAnswer(other);
  await expect(mirrored).toHaveAttribute('aria-busy', 'true');
  const before = await renderedLength(mirrored);
  await expect.poll(() => renderedLength(mirrored), { timeout: 5000 }).toBeGreaterThan(before + 50);

  await waitForEnd(lastAnswer(page));
  await waitForEnd(mirrored);
  expect(await answerText(mirrored).innerText()).toBe(await answerText(lastAnswer(page)).innerText());
  await other.close();
});

test('an XSS payload shows as text and runs nothing', async ({ page }) => {
  const payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  await newChat(page, payload);
  const log = page.getByRole('log', { name: 'Conversation' });
  await expect(log.getByText(payload, { exact: true })).toBeVisible();
  await expect(page).toHaveTitle(/img src=x/); // the title is the text too
  await page.getByRole('button', { name: 'Stop generating' }).click();
  await waitForEnd(lastAnswer(page));

  // And once more from the server's copy (the snapshot), after a reload.
  await page.reload();
  await expect(log.getByText(payload, { exact: true })).toBeVisible();
  expect(await log.locator('img, script').count()).toBe(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
});

test("another user's conversation shows the not-found state (4003)", async ({ page }) => {
  let sockets = 0;
  page.on('websocket', () => sockets++);
  await page.goto(`/c/${process.env.E2E_BOB_CONVERSATION}`);
  await expect(page.getByRole('heading', { name: 'Conversation not found' })).toBeVisible();
  await expect(page.getByText('This conversation does not exist or is not yours.')).toBeVisible();
  await expect(page.getByText('Something only Bob may read.')).toHaveCount(0);
  await page.waitForTimeout(1500);
  expect(sockets, 'no reconnect after 4003').toBe(1);
});
