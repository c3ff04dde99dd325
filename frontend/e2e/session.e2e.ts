/** Logging out in one tab: the other tab's next frame gets 4001, the re-login dialog, and resumes. */
import { answers, badge, composer, expect, loginWithForm, password, send, test, waitForEnd } from './fixtures';

// A session of its own (logging out must not end the one the other specs share).
test.use({ user: null });

test('log in: anonymous visitors get the login form, a wrong password is refused, the right one opens the chat', async ({ page }) => {
  await page.goto('/history');
  await page.waitForURL((url) => url.pathname === '/accounts/login/' && url.searchParams.get('next') === '/history');
  await page.getByLabel('Username').fill('alice');
  await page.getByLabel('Password').fill('wrong-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('alert')).toContainText('Please enter a correct username and password');
  await page.getByLabel('Password').fill(password());
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname === '/history');
  await expect(page.getByRole('heading', { name: 'History' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'User menu for alice' })).toBeVisible();
});

test('log out in one tab; the other shows the re-login dialog, logs in, and finds the refused message back in its composer', async ({ page, context }) => {
  await loginWithForm(page, 'alice');
  const other = await context.newPage();
  await other.goto('/');
  await expect(badge(other)).toHaveText('Online');

  await page.getByRole('button', { name: 'User menu for alice' }).click();
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/\/accounts\/login\//);

  // The other tab is still connected; its next frame meets the ended session.
  const text = 'Written before the session ended: keep me, please.';
  await send(other, text);
  const dialog = other.getByRole('dialog', { name: 'Your session ended' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByText('Your draft is kept.')).toBeVisible();
  await expect(dialog.getByLabel('Username')).toHaveValue('alice');

  // A wrong password is refused in the dialog.
  await dialog.getByLabel('Password').fill('not-the-password');
  await dialog.getByRole('button', { name: 'Log in' }).click();
  await expect(dialog.getByRole('alert')).toHaveText('Wrong username or password.');

  await dialog.getByLabel('Password').fill(password());
  await dialog.getByRole('button', { name: 'Log in' }).click();
  await expect(dialog).toBeHidden();
  await expect(badge(other)).toHaveText('Online');

  // The message the server refused is back in the composer, not sent behind the user's back;
  // sending it now stores it once, and it is answered.
  await expect(composer(other)).toHaveValue(text);
  await other.waitForTimeout(500);
  await expect(other.getByRole('log', { name: 'Conversation' })).toHaveCount(0);
  await composer(other).press('Enter');
  await other.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  const log = other.getByRole('log', { name: 'Conversation' });
  await expect(log.getByText(text, { exact: true })).toHaveCount(1);
  await expect(log.getByText('Sending…')).toHaveCount(0);
  await expect(answers(other)).toHaveCount(1);
  await other.getByRole('button', { name: 'Stop generating' }).click();
  await waitForEnd(answers(other).last());
  await expect(composer(other)).toBeEditable();
});
