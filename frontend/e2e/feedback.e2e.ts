/**
 * Rating an answer: thumbs, a reason and a comment; another tab sees it; withdrawing;
 * and the admin's feedback queue lists it.
 */
import { expect, lastAnswer, newChat, openAdmin, test, waitForEnd } from './fixtures';

test('rate an answer with a reason, see it in another tab and in the admin queue, withdraw it', async ({
  page,
  context,
  browser,
}) => {
  const id = await newChat(page, 'Say something I can rate.');
  const answer = lastAnswer(page);
  await waitForEnd(answer);

  const other = await context.newPage();
  await other.goto(`/c/${id}`);
  const mirrored = lastAnswer(other);
  await waitForEnd(mirrored);
  await expect(mirrored.getByRole('button', { name: 'Bad answer' })).toHaveAttribute('aria-pressed', 'false');

  await answer.getByRole('button', { name: 'Bad answer' }).click();
  await expect(answer.getByRole('button', { name: 'Bad answer' })).toHaveAttribute('aria-pressed', 'true');
  await answer.getByRole('combobox', { name: 'Reason' }).selectOption('incomplete');
  const comment = `Stops too early ${Date.now()}`;
  await answer.getByRole('textbox', { name: 'Comment' }).fill(comment);
  await answer.getByRole('button', { name: 'Save' }).click();
  await expect(answer.getByText('Incomplete')).toBeVisible();

  // The other tab hears of it over its socket (message.feedback).
  await expect(mirrored.getByRole('button', { name: 'Bad answer' })).toHaveAttribute('aria-pressed', 'true');
  await expect(mirrored.getByText('Incomplete')).toBeVisible();

  // A reload shows the stored rating.
  await page.reload();
  await expect(lastAnswer(page).getByRole('button', { name: 'Bad answer' })).toHaveAttribute('aria-pressed', 'true');

  // The admin's queue lists it, filtered to thumbs down.
  const adminPage = await openAdmin(browser, '/admin/feedback/feedback/?rating__exact=down');
  await expect(adminPage.getByRole('heading', { name: /Select feedback/ })).toBeVisible();
  const row = adminPage.locator('#result_list tr', { hasText: comment });
  await expect(row).toBeVisible();
  await expect(row).toContainText(/incomplete/i);
  await adminPage.context().close();

  // Choosing the same thumb again withdraws it, in both tabs.
  await lastAnswer(page).getByRole('button', { name: 'Bad answer' }).click();
  await expect(lastAnswer(page).getByRole('button', { name: 'Bad answer' })).toHaveAttribute('aria-pressed', 'false');
  await expect(mirrored.getByRole('button', { name: 'Bad answer' })).toHaveAttribute('aria-pressed', 'false');
  await other.close();
});
