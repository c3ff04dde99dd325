/**
 * The `test` every spec uses: baseURL from global setup, a logged-in storageState per
 * user (made through the login form by auth.setup.ts), and small page helpers.
 */
import { expect, test as base, type Locator, type Page, type WebSocket } from '@playwright/test';
import path from 'node:path';

export type User = 'alice' | 'bob' | 'carol' | 'dana' | 'erin' | 'frank';

export const password = () => process.env.E2E_PASSWORD ?? '';
export const statePath = (user: User) => path.join(process.env.E2E_TMP ?? '', `${user}.json`);

export const test = base.extend<{ user: User | null }>({
  user: ['alice', { option: true }],
  baseURL: async ({}, use) => use(process.env.E2E_BASE_URL),
  storageState: async ({ user }, use) => use(user ? statePath(user) : undefined),
});
export { expect };

/** Log in through the real form at /accounts/login/. */
export async function loginWithForm(page: Page, user: User) {
  await page.goto('/accounts/login/');
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password());
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname === '/');
  await expect(page.getByRole('button', { name: `User menu for ${user}` })).toBeVisible();
}

export const composer = (page: Page) => page.getByRole('textbox', { name: 'Message' });
export const answers = (page: Page) => page.getByRole('article', { name: 'Assistant answer' });
export const lastAnswer = (page: Page) => answers(page).last();
/** The rendered Markdown of an answer (not the thinking panel or the buttons). */
export const answerText = (answer: Locator) => answer.locator('.markdown').first();
export const badge = (page: Page) => page.locator('main header').getByRole('status');

export async function send(page: Page, text: string) {
  await composer(page).fill(text);
  await composer(page).press('Enter');
}

/** Start a new chat with `text`; returns the conversation id once the URL shows it. */
export async function newChat(page: Page, text: string): Promise<string> {
  await page.goto('/');
  await expect(badge(page)).toHaveText('Online');
  await send(page, text);
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  return page.url().split('/c/')[1];
}

/** Text length of the answer's rendered Markdown (0 while nothing is there yet). */
export async function renderedLength(answer: Locator): Promise<number> {
  const md = answerText(answer);
  return (await md.count()) ? (await md.innerText()).length : 0;
}

/** Resolves when `answer` has at least `chars` characters of rendered text. */
export async function waitForText(answer: Locator, chars: number, timeout = 15_000) {
  await expect.poll(() => renderedLength(answer), { timeout }).toBeGreaterThanOrEqual(chars);
}

/** An answer that has ended (no longer aria-busy). */
export async function waitForEnd(answer: Locator, timeout = 30_000) {
  await expect(answer).toHaveAttribute('aria-busy', 'false', { timeout });
}

export interface StoredMessage {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  reasoning: string;
  status: string;
  parent_id: string | null;
}

/** The frames of one socket, parsed, as they arrive. */
export function recordFrames(ws: WebSocket): Array<Record<string, any>> {
  const frames: Array<Record<string, any>> = [];
  ws.on('framereceived', ({ payload }) => {
    try {
      frames.push(JSON.parse(String(payload)));
    } catch {
      // not JSON
    }
  });
  return frames;
}

/** GET /api/conversations/<id>/ from the page (its session), or null when that fails. */
export async function fetchConversation(page: Page, id: string): Promise<{ status: number; body: any }> {
  return page.evaluate(async (conversationId) => {
    const response = await fetch(`/api/conversations/${conversationId}/`, { headers: { Accept: 'application/json' } });
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      // not JSON
    }
    return { status: response.status, body };
  }, id);
}

/**
 * The words of stored Markdown as they read once rendered: link targets and code-fence
 * languages are not shown, everything else keeps its letters and digits.
 */
export function markdownWords(markdown: string): string[] {
  const visible = markdown.replace(/\]\([^)]*\)/g, ']').replace(/^(```|~~~)[^\n]*$/gm, '');
  return visible.match(/[\p{L}\p{N}_]+/gu) ?? [];
}

export function renderedWords(text: string): string[] {
  return text.match(/[\p{L}\p{N}_]+/gu) ?? [];
}

/** A browser context logged in to the admin as olga (a superuser), on `next`. */
export async function openAdmin(browser: import('@playwright/test').Browser, next: string): Promise<Page> {
  const admin = await browser.newContext({ storageState: undefined });
  const page = await admin.newPage();
  await page.goto(`/admin/login/?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Username').fill('olga');
  await page.getByLabel('Password').fill(password());
  await page.getByRole('button', { name: 'Log in' }).click();
  return page;
}
