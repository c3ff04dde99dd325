/** The README's screenshots: chat and history, light and dark, desktop and phone (docs/screenshots/). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, statePath, test } from './fixtures';

const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
const themes = ['light', 'dark'] as const;

/** A viewport screenshot, made ~3x smaller by pngquant when it is installed (apt-get install pngquant). */
async function shoot(page: Page, file: string) {
  await page.screenshot({ path: file, animations: 'disabled' });
  spawnSync('pngquant', ['--quality', '70-95', '--speed', '1', '--strip', '--force', '--output', file, file]);
}

for (const [size, viewport] of Object.entries(sizes)) {
  for (const theme of themes) {
    test(`screenshots: ${size}, ${theme}`, async ({ browser }) => {
      const out = path.resolve(test.info().project.testDir, '../../docs/screenshots');
      const context = await browser.newContext({
        baseURL: process.env.E2E_BASE_URL,
        storageState: statePath('dana'),
        viewport,
        deviceScaleFactor: 1,
        colorScheme: theme,
        hasTouch: size === 'phone',
        locale: 'en-US',
        timezoneId: 'UTC',
      });
      const page = await context.newPage();

      await page.goto(`/c/${process.env.E2E_SHOWCASE_CONVERSATION}`);
      const log = page.getByRole('log', { name: 'Conversation' });
      await expect(log.getByText('Explain streaming answers with an example, and show some code.')).toBeVisible();
      await expect(page.locator('main header').getByRole('status')).toHaveText('Online');
      await expect(log.locator('pre code .hljs-keyword').first()).toBeVisible(); // highlighter loaded
      await expect(page.locator('html')).toHaveClass(theme === 'dark' ? /dark/ : /^(?!.*dark)/);
      await log.evaluate((element) => element.scrollTo(0, 0));
      await page.getByRole('textbox', { name: 'Message' }).blur();
      await shoot(page, path.join(out, `chat-${size}-${theme}.png`));

      await page.goto('/history');
      const main = page.getByRole('main');
      await expect(main.getByRole('listitem')).toHaveCount(6);
      await main.getByRole('searchbox').blur();
      await shoot(page, path.join(out, `history-${size}-${theme}.png`));
      await context.close();
    });
  }
}
