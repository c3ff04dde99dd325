/**
 * Pin, archive and folders in the browser (frank's three seeded conversations): the sidebar
 * regroups, another tab follows, archived ones are found on the history page.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

test.use({ user: 'frank' });

const sidebar = (page: Page) => page.getByRole('navigation', { name: 'Recent conversations' });
const recent = (page: Page) => sidebar(page).getByRole('list', { name: 'Conversations', exact: true });

async function organize(page: Page, title: string, action: string) {
  await sidebar(page).getByRole('button', { name: `Options for ${title}` }).click();
  // The menu opens in a portal (over the list), not inside the sidebar.
  await page.getByRole('group', { name: `Organize ${title}` }).getByRole('button', { name: action }).click();
}

test('pin, archive and file conversations; the sidebar regroups in every tab', async ({ page, context }) => {
  await page.goto('/');
  for (const title of ['Alpha plans', 'Beta notes', 'Gamma ideas']) await expect(recent(page).getByText(title)).toBeVisible();
  const other = await context.newPage();
  await other.goto('/');
  await expect(recent(other).getByText('Alpha plans')).toBeVisible();

  // Pin: to the top, in this tab and the other.
  await organize(page, 'Alpha plans', 'Pin');
  const pinned = (p: Page) => sidebar(p).getByRole('list', { name: 'Pinned conversations' });
  await expect(pinned(page).getByText('Alpha plans')).toBeVisible();
  await expect(recent(page).getByText('Alpha plans')).toHaveCount(0);
  await expect(pinned(other).getByText('Alpha plans')).toBeVisible();

  // Archive: out of the sidebar, on the history page under Archived, and back.
  await organize(page, 'Beta notes', 'Archive');
  await expect(sidebar(page).getByText('Beta notes')).toHaveCount(0);
  await page.goto('/history');
  await page.getByRole('combobox', { name: 'Show' }).selectOption('archived');
  const main = page.locator('main');
  await expect(main.getByRole('link', { name: 'Beta notes' })).toBeVisible();
  await expect(main.getByRole('link', { name: 'Gamma ideas' })).toHaveCount(0);
  await main.getByRole('button', { name: 'Options for Beta notes' }).click();
  await page.getByRole('group', { name: 'Organize Beta notes' }).getByRole('button', { name: 'Unarchive' }).click();
  await expect(main.getByRole('link', { name: 'Beta notes' })).toHaveCount(0);
  await expect(recent(page).getByText('Beta notes')).toBeVisible();

  // Folders: make one, file a conversation in it, rename it, delete it (the chat stays).
  await sidebar(page).getByRole('button', { name: 'New folder' }).click();
  await sidebar(page).getByRole('textbox', { name: 'Folder name' }).fill('Work');
  await sidebar(page).getByRole('textbox', { name: 'Folder name' }).press('Enter');
  await expect(sidebar(page).getByRole('button', { name: 'Folder Work, 0 conversations' })).toBeVisible();
  await sidebar(page).getByRole('button', { name: 'Options for Gamma ideas' }).click();
  await page.getByRole('combobox', { name: 'Move to folder' }).selectOption({ label: 'Work' });
  const folder = sidebar(page).getByRole('button', { name: 'Folder Work, 1 conversation' });
  await expect(folder).toBeVisible();
  await expect(recent(page).getByText('Gamma ideas')).toHaveCount(0);
  await folder.click();
  await expect(sidebar(page).getByRole('list', { name: 'Conversations in Work' }).getByText('Gamma ideas')).toBeVisible();
  await expect(sidebar(other).getByRole('button', { name: 'Folder Work, 1 conversation' })).toBeVisible();

  await page.getByRole('combobox', { name: 'Folder' }).selectOption({ label: 'Work' });
  await page.getByRole('combobox', { name: 'Show' }).selectOption('all');
  await expect(main.getByRole('link', { name: 'Gamma ideas' })).toBeVisible();
  await expect(main.getByRole('link', { name: 'Alpha plans' })).toHaveCount(0);

  // The folder's defaults: a new chat started in it takes its model and prompt, and is filed there.
  await sidebar(page).getByRole('button', { name: 'Defaults of Work' }).click();
  const defaults = sidebar(page).getByRole('form', { name: 'Defaults of Work' });
  await defaults.getByRole('combobox', { name: 'Model for new chats' }).selectOption({ label: 'Demo (terse)' });
  await defaults.getByRole('textbox', { name: 'System prompt for new chats' }).fill('Keep it short.');
  await defaults.getByRole('button', { name: 'Save defaults' }).click();
  await expect(defaults).toHaveCount(0);
  await sidebar(page).getByRole('link', { name: 'New chat in Work' }).click();
  await expect(page.getByRole('combobox', { name: 'Model' })).toHaveValue('demo-terse');
  await page.getByRole('textbox', { name: 'Message' }).fill('Filed?');
  await page.getByRole('textbox', { name: 'Message' }).press('Enter');
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  await expect(page.getByRole('article', { name: 'Assistant answer' }).last().locator('.markdown')).toHaveText(
    'Terse demo answer to “Filed?”. (system prompt: “Keep it short.”)',
  );
  await expect(sidebar(page).getByRole('button', { name: 'Folder Work, 2 conversations' })).toBeVisible();

  await sidebar(page).getByRole('button', { name: 'Rename folder Work' }).click();
  await sidebar(page).getByRole('textbox', { name: 'New name for Work' }).fill('Job');
  await sidebar(page).getByRole('textbox', { name: 'New name for Work' }).press('Enter');
  await expect(sidebar(page).getByRole('button', { name: 'Folder Job, 2 conversations' })).toBeVisible();
  page.once('dialog', (dialog) => void dialog.accept());
  await sidebar(page).getByRole('button', { name: 'Delete folder Job' }).click();
  await expect(sidebar(page).getByRole('button', { name: /^Folder Job/ })).toHaveCount(0);
  await expect(recent(page).getByText('Gamma ideas')).toBeVisible();
  await expect(recent(page).getByText('Filed?')).toBeVisible();
  await other.close();
});
