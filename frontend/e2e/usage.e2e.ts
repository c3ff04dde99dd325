/**
 * Usage: after an answer the user menu shows today's and this month's usage, and the
 * admin's usage page lists the user with a chart and totals.
 */
import { expect, lastAnswer, newChat, openAdmin, test, waitForEnd } from './fixtures';

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

  const adminPage = await openAdmin(browser, '/admin/usage/dailyusage/');
  await expect(adminPage.getByRole('heading', { name: 'Usage and cost' })).toBeVisible();
  await expect(adminPage.locator('#usage-rows')).toContainText('alice');
  await expect(adminPage.getByRole('img', { name: 'Tokens per day' }).locator('rect')).not.toHaveCount(0);
  await expect(adminPage.locator('#usage-totals')).toContainText(/[1-9]\d* answers/);
  await adminPage.context().close();
});
