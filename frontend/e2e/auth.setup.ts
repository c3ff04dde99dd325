/** Logs every seeded user in through the login form once; the specs reuse the sessions. */
import { loginWithForm, statePath, test, type User } from './fixtures';

test.use({ user: null });

for (const user of ['alice', 'bob', 'carol', 'dana', 'erin', 'frank'] as User[]) {
  test(`log in as ${user} through the login form`, async ({ page }) => {
    await loginWithForm(page, user);
    await page.context().storageState({ path: statePath(user) });
  });
}
