/** The README's screenshots: chat and history, light and dark, desktop and phone (docs/screenshots/). */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, statePath, test } from './fixtures';

const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
const themes = ['light', 'dark'] as const;

/**
 * A viewport screenshot, made ~3x smaller by pngquant when it is installed (apt-get install
 * pngquant). The file is only rewritten when the picture changed (not on re-quantizing noise),
 * so a test run leaves docs/screenshots/ untouched unless the UI changed.
 */
async function shoot(page: Page, file: string) {
  const raw = await page.screenshot({ animations: 'disabled' });
  const quantized = spawnSync('pngquant', ['--quality', '70-95', '--speed', '1', '--strip', '-'], { input: raw });
  const png = quantized.status === 0 && quantized.stdout.length ? quantized.stdout : raw;
  if (existsSync(file) && (await samePicture(page, readFileSync(file), png))) return;
  writeFileSync(file, png);
}

/** Same size, and under 0.5% of the pixels off by more than a little in any channel. */
async function samePicture(page: Page, a: Buffer, b: Buffer): Promise<boolean> {
  const scratch = await page.context().newPage();
  try {
    return await scratch.evaluate(async ([a, b]) => {
      const load = (data: string) =>
        new Promise<HTMLImageElement>((resolve, reject) => {
          const image = new Image();
          image.onload = () => resolve(image);
          image.onerror = reject;
          image.src = `data:image/png;base64,${data}`;
        });
      const pixels = (image: HTMLImageElement) => {
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext('2d')!;
        context.drawImage(image, 0, 0);
        return context.getImageData(0, 0, image.width, image.height).data;
      };
      const [first, second] = await Promise.all([load(a), load(b)]);
      if (first.width !== second.width || first.height !== second.height) return false;
      const [pa, pb] = [pixels(first), pixels(second)];
      let off = 0;
      for (let i = 0; i < pa.length; i += 4) {
        if (Math.max(Math.abs(pa[i] - pb[i]), Math.abs(pa[i + 1] - pb[i + 1]), Math.abs(pa[i + 2] - pb[i + 2])) > 40) off++;
      }
      return off < (pa.length / 4) * 0.005;
    }, [a.toString('base64'), b.toString('base64')]);
  } finally {
    await scratch.close();
  }
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
