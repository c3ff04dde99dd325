/** A code block's copy button sits above the code, never over its first line. */
import { expect, test } from './fixtures';

test.use({ user: 'dana' });

test('the copy button does not cover the code', async ({ page }) => {
  await page.goto(`/c/${process.env.E2E_SHOWCASE_CONVERSATION}`);
  const pre = page.getByRole('log', { name: 'Conversation' }).locator('pre').first();
  await expect(pre.locator('code .hljs-keyword').first()).toBeVisible();
  const button = pre.locator('xpath=..').getByRole('button', { name: 'Copy code' });
  const [code, copy] = [await pre.boundingBox(), await button.boundingBox()];
  expect(code && copy).toBeTruthy();
  // Entirely above the <pre> that holds the text: no line of code can run under it.
  expect(copy!.y + copy!.height).toBeLessThanOrEqual(code!.y + 0.5);
});
