/**
 * Usage: after an answer the user menu shows today's and this month's usage, and the
 * admin's usage page lists the user with a chart and totals.
 */
import { expect, lastAnswer, newChat, password, test, waitForEnd } from './fixtures';

test('the user sees their usage, the admin the usage page with its chart', async ({ page, browser }) => {
  await newChat(page, 'Count my tokens, please.');
  await waitForEnd(lastAnswer(page));

  // Usage is stored within a second of the answer's end: reopen the menu until it shows.
  await expect(async () => {
    await page.reload();
    await page.getByRole('button', { name: 'User menu for alice' }).click();
    const usage = page.getByRole('definition').first();
    await expect(usage).toContainText(/[1-9][\d,]* tokens · [1-9]\d* answers?/, { timeout: 2000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.getByText('This month')).toBeVisible();

  const admin = await browser.newContext({ storageState: undefined });
  const adminPage = await admin.newPage();
  await adminPage.goto('/admin/login/?next=/admin/usage/dailyusage/');
  await adminPage.getByLabel('Username').fill('olga');
  await adminPage.getByLabel('Password').fill(password());
  await adminPage.getByRole('button', { name: 'Log in' }).click();
  await expect(adminPage.getByRole('heading', { name: 'Usage and cost' })).toBeVisible();
  await expect(adminPage.locator('#usage-rows')).toContainText('alice');
  await expect(adminPage.getByRole('img', { name: 'Tokens per day' }).locator('rect')).not.toHaveCount(0);
  await expect(adminPage.locator('#usage-totals')).toContainText(/[1-9]\d* answers/);
  await admin.close();
});
