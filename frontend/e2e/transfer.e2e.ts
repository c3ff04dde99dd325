/**
 * Import and bulk export in the browser (erin, who starts with no conversations): import
 * ChatGPT's export, see the conversations with their branches, import it again (nothing
 * added), and download every conversation as a zip.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from './fixtures';

test.use({ user: 'erin' });

const FIXTURE = path.resolve(import.meta.dirname, '../../src/sharing/tests/chatgpt_conversations.json');

test('import ChatGPT conversations, open one on its branch, import again, export everything', async ({ page }) => {
  await page.goto('/history');
  const input = page.getByLabel('Conversations file to import');
  await input.setInputFiles(FIXTURE);
  await expect(page.getByText('Imported 3 conversations.')).toBeVisible();
  const list = page.locator('main');
  await expect(list.getByRole('link', { name: 'Trip to Lisbon' })).toBeVisible();
  await expect(list.getByRole('link', { name: 'Sales chart' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Recent conversations' }).getByText('Trip to Lisbon')).toBeVisible();

  // The conversation opens on ChatGPT's current branch, and the other branch is a switch away.
  await list.getByRole('link', { name: 'Trip to Lisbon' }).click();
  await expect(page.getByText('Pastéis de Belém, of course.')).toBeVisible();
  await expect(page.getByText('Try a tasca in Alfama.')).toHaveCount(0);
  const versions = page.getByRole('group', { name: 'Message versions' });
  await expect(versions).toContainText('2 / 2');
  await versions.getByRole('button', { name: 'Previous edit' }).click();
  await expect(page.getByText('Try a tasca in Alfama.')).toBeVisible();

  await page.goto('/history');
  await page.getByLabel('Conversations file to import').setInputFiles({
    name: 'conversations.json', mimeType: 'application/json', buffer: readFileSync(FIXTURE),
  });
  await expect(page.getByText('Imported 0 conversations (3 already here, skipped).')).toBeVisible();

  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export all (zip)' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^chats-erin-\d{8}-\d{4}\.zip$/);
  const bytes = readFileSync((await file.path())!);
  expect(bytes.subarray(0, 2).toString()).toBe('PK');
  expect(bytes.includes(Buffer.from('index.md'))).toBe(true);
  expect(bytes.includes(Buffer.from('conversations/chat-trip-to-lisbon-'))).toBe(true);
});
