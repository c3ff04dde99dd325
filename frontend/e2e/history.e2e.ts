/** The history page: search (highlighted match), rename, delete with confirmation, export. */
import { readFile } from 'node:fs/promises';
import { expect, fetchConversation, lastAnswer, newChat, test, waitForEnd, waitForText, type Page } from './fixtures';

test.use({ user: 'bob' });

const WORD = 'Wombatfruit';

/** The history list's row for a conversation title. */
const row = (page: Page, name: string) =>
  page.getByRole('main').getByRole('list', { name: 'Conversations' }).getByRole('listitem').filter({ has: page.getByRole('link', { name }) });

test.describe.configure({ mode: 'serial' });

let id = '';
const title = 'Help me name a pet';

test('history: search finds a word from a message body and highlights it', async ({ page }) => {
  id = await newChat(page, `${title}\nIt looks like a small ${WORD.toLowerCase()} with stripes.`);
  await waitForText(lastAnswer(page), 20);
  await page.getByRole('button', { name: 'Stop generating' }).click();
  await waitForEnd(lastAnswer(page));

  await page.getByRole('link', { name: 'History & search' }).click();
  await page.waitForURL(/\/history$/);
  await expect(page.getByRole('heading', { name: 'History' })).toBeVisible();
  const search = page.getByRole('searchbox', { name: 'Search conversations' });
  await search.fill(WORD.toUpperCase().slice(0, 6) + WORD.slice(6)); // case-insensitive
  const main = page.getByRole('main');
  const mark = main.locator('mark');
  await expect(mark.first()).toHaveText(/^wombatfruit$/i);
  await expect(main.getByRole('link', { name: title })).toHaveCount(1);
  await expect(main.getByRole('link', { name: "Bob's private plans" })).toHaveCount(0);

  await search.fill('no-such-word-anywhere');
  await expect(main.getByText('Nothing matches.')).toBeVisible();
});

test('history: export as Markdown and as JSON', async ({ page }) => {
  await page.goto('/history');
  const main = page.getByRole('main');
  await expect(main.getByRole('link', { name: title })).toBeVisible();
  const item = row(page, title);

  const [markdown] = await Promise.all([page.waitForEvent('download'), item.getByRole('link', { name: 'Export Markdown' }).click()]);
  expect(markdown.suggestedFilename()).toMatch(/^chat-help-me-name-a-pet-[0-9a-f]{8}\.md$/);
  const md = await readFile((await markdown.path())!, 'utf8');
  expect(md).toContain(`# ${title}`);
  expect(md).toContain(`It looks like a small ${WORD.toLowerCase()} with stripes.`);
  expect(md).toMatch(/^## Assistant .*stopped$/m);

  const [json] = await Promise.all([page.waitForEvent('download'), item.getByRole('link', { name: 'Export JSON' }).click()]);
  expect(json.suggestedFilename()).toMatch(/\.json$/);
  const data = JSON.parse(await readFile((await json.path())!, 'utf8'));
  expect(data.conversation).toMatchObject({ id, title });
  expect(data.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
  expect(data.messages[0].content).toContain(WORD.toLowerCase());
  expect(data.messages[1].status).toBe('stopped');
  const { body } = await fetchConversation(page, id);
  expect(data.messages[1].content).toBe(body.messages[1].content);
});

test('history: rename', async ({ page }) => {
  await page.goto('/history');
  const main = page.getByRole('main');
  await main.getByRole('button', { name: `Rename ${title}` }).click();
  const dialog = page.getByRole('dialog', { name: 'Rename conversation' });
  await dialog.getByLabel('Title').fill('Names for a striped pet');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog).toBeHidden();
  await expect(main.getByRole('link', { name: 'Names for a striped pet' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Recent conversations' }).getByRole('link', { name: 'Names for a striped pet' })).toBeVisible();
  const { body } = await fetchConversation(page, id);
  expect(body.conversation.title).toBe('Names for a striped pet');
});

test('history: delete asks first, then removes the conversation', async ({ page }) => {
  await page.goto('/history');
  const main = page.getByRole('main');
  const link = main.getByRole('link', { name: 'Names for a striped pet' });
  await main.getByRole('button', { name: 'Delete Names for a striped pet' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delete conversation?' });
  await expect(dialog).toContainText('“Names for a striped pet” and all its messages will be deleted.');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(link).toBeVisible();

  await main.getByRole('button', { name: 'Delete Names for a striped pet' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect(dialog).toBeHidden();
  await expect(link).toHaveCount(0);
  expect((await fetchConversation(page, id)).status).toBe(404);
  await page.reload();
  await expect(main.getByRole('link', { name: "Bob's private plans" })).toBeVisible();
  await expect(main.getByRole('link', { name: 'Names for a striped pet' })).toHaveCount(0);
});
