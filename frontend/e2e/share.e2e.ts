/**
 * Share links in the browser: erin shares a conversation, carol opens the link in her own
 * browser context, sees it read-only and continues it in her chats; once erin revokes the
 * link it is a plain 404.
 */
import { badge, expect, lastAnswer, newChat, statePath, test, waitForText } from './fixtures';

test.use({ user: 'erin' });

test('share a conversation, open the link as another user, continue it, revoke it', async ({ page, browser }) => {
  await newChat(page, 'Share this question.');
  await waitForText(lastAnswer(page), 40);
  await page.getByRole('button', { name: 'Stop generating' }).click();
  await expect(lastAnswer(page).getByText('Stopped.', { exact: true })).toBeVisible();
  const answer = (await lastAnswer(page).locator('.markdown').first().innerText()).trim();

  await page.getByRole('button', { name: 'Share', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Share this conversation' });
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const link = await dialog.getByRole('textbox', { name: 'Share link' }).first().inputValue();
  expect(link).toMatch(/\/s\/[\w-]{20,}$/);

  await dialog.getByRole('button', { name: 'Close' }).click();

  const carol = await browser.newContext({ storageState: statePath('carol') });
  const viewer = await carol.newPage();
  await viewer.goto(link);
  await expect(viewer.getByRole('heading', { name: 'Share this question.' })).toBeVisible();
  await expect(viewer.getByText('Shared by erin')).toBeVisible();
  await expect(viewer.getByRole('list', { name: 'Shared messages' }).getByText('Share this question.', { exact: true })).toBeVisible();
  const shown = (await viewer.getByRole('article', { name: 'Assistant answer' }).locator('.markdown').innerText()).trim();
  expect(shown).toBe(answer);

  await viewer.getByRole('button', { name: 'Continue in my chats' }).click();
  await viewer.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(badge(viewer)).toHaveText('Online');
  await expect(viewer.getByRole('log', { name: 'Conversation' }).getByText('Share this question.', { exact: true })).toBeVisible();
  await expect(viewer.getByRole('textbox', { name: 'Message' })).toBeEnabled();

  await page.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.getByRole('button', { name: 'Revoke' }).first().click();
  await expect(dialog.getByRole('textbox', { name: 'Share link' })).toHaveCount(0);
  const gone = await viewer.goto(link);
  expect(gone?.status()).toBe(404);
  await carol.close();
});
