/**
 * Per-conversation settings in the browser: pick a model in the chat header and see it
 * answer, set a system prompt and temperature and see them reach the model, reload and
 * find them kept, start a new chat on the last choice.
 *
 * The server offers two models (global-setup.ts): the fake upstream (the default) and the
 * terse demo model, whose one-line answer says which prompt and temperature reached it.
 */
import type { Page } from '@playwright/test';
import { answers, answerText, badge, expect, lastAnswer, send, test, waitForEnd } from './fixtures';

test.use({ user: 'carol' });

const picker = (page: Page) => page.getByRole('combobox', { name: 'Model' });
const patched = (page: Page) =>
  page.waitForResponse((r) => r.url().includes('/api/conversations/') && r.request().method() === 'PATCH');

test('pick a model and set a prompt in the browser, and see them used', async ({ page }) => {
  await page.goto('/');
  await expect(badge(page)).toHaveText('Online');
  await expect(picker(page)).toHaveValue('fake-model');
  await picker(page).selectOption({ label: 'Demo (terse)' });
  await send(page, 'Which model is this?');
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  await waitForEnd(lastAnswer(page));
  await expect(answerText(lastAnswer(page))).toHaveText('Terse demo answer to “Which model is this?”.');
  await expect(lastAnswer(page).getByText('demo-terse', { exact: true })).toBeVisible();

  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  await page.getByLabel('System prompt').fill('Answer like a pirate.');
  await page.getByLabel('Temperature').fill('0.5');
  const saved = patched(page);
  await page.getByRole('button', { name: 'Save settings' }).click();
  expect((await saved).status()).toBe(200);
  await send(page, 'And now?');
  await expect(answers(page)).toHaveCount(2);
  await waitForEnd(lastAnswer(page));
  await expect(answerText(lastAnswer(page))).toHaveText(
    'Terse demo answer to “And now?”. (system prompt: “Answer like a pirate.”; temperature 0.5)',
  );

  // Kept by the server: after a reload, and as the choice a new chat starts with.
  await page.reload();
  await expect(picker(page)).toHaveValue('demo-terse');
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  await expect(page.getByLabel('System prompt')).toHaveValue('Answer like a pirate.');
  const chat = page.url();
  await page.goto('/');
  await expect(picker(page)).toHaveValue('demo-terse');

  // Back to the fake upstream, in the same chat: its next answer comes from there.
  await page.goto(chat);
  await expect(badge(page)).toHaveText('Online');
  const switched = patched(page);
  await picker(page).selectOption({ label: 'Fake upstream' });
  expect((await switched).status()).toBe(200);
  await send(page, 'Long answer please');
  await expect(answers(page)).toHaveCount(3);
  await expect(lastAnswer(page).getByRole('button', { name: /^Thinking/ })).toBeVisible();
  await page.getByRole('button', { name: 'Stop generating' }).click();
  await waitForEnd(lastAnswer(page));
  await expect(lastAnswer(page).getByText('fake-model', { exact: true })).toBeVisible();
});
