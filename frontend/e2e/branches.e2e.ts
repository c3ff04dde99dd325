/**
 * Conversations as trees in the browser: edit a question, watch the new branch stream,
 * switch back and forth, reload and find the same branch, and see another tab follow.
 */
import {
  answerText,
  badge,
  expect,
  fetchConversation,
  lastAnswer,
  newChat,
  send,
  test,
  waitForText,
  type StoredMessage,
} from './fixtures';
import type { Page } from '@playwright/test';

async function stopAfterSomeText(page: Page) {
  const answer = lastAnswer(page);
  await expect(answer).toHaveAttribute('aria-busy', 'true'); // the new answer, not the one before
  await waitForText(answer, 30);
  await page.getByRole('button', { name: 'Stop generating' }).click();
  await expect(answer.getByText('Stopped.', { exact: true })).toBeVisible();
}

const userMessage = (page: Page, text: string) => page.locator('main').getByText(text, { exact: true });

test('edit a question, see its branch stream, switch back and forth, reload on the same branch', async ({ page, context }) => {
  const id = await newChat(page, 'First question.');
  await stopAfterSomeText(page);
  await send(page, 'Second question.');
  await stopAfterSomeText(page);
  const firstVersion = await answerText(lastAnswer(page)).innerText();

  // Edit the second question in place: a new version with its own answer, streaming.
  await page.getByRole('button', { name: 'Edit message' }).last().click();
  const box = page.getByRole('textbox', { name: 'Edit message' });
  await expect(box).toHaveValue('Second question.');
  await box.fill('Second question, edited.');
  await page.getByRole('button', { name: 'Send edit' }).click();
  await expect(userMessage(page, 'Second question, edited.')).toBeVisible();
  await expect(userMessage(page, 'Second question.')).toHaveCount(0);
  const versions = page.getByRole('group', { name: 'Message versions' });
  await expect(versions).toContainText('2 / 2');
  await stopAfterSomeText(page);

  // Another tab shows the same branch, and follows a switch made here.
  const other = await context.newPage();
  await other.goto(`/c/${id}`);
  await expect(badge(other)).toHaveText('Online');
  await expect(userMessage(other, 'Second question, edited.')).toBeVisible();

  await versions.getByRole('button', { name: 'Previous edit' }).click();
  await expect(versions).toContainText('1 / 2');
  await expect(userMessage(page, 'Second question.')).toBeVisible();
  expect(await answerText(lastAnswer(page)).innerText()).toBe(firstVersion);
  await expect(userMessage(other, 'Second question.')).toBeVisible();
  await expect(userMessage(other, 'Second question, edited.')).toHaveCount(0);

  // The server keeps the shown branch: a reload shows it again.
  await page.reload();
  await expect(badge(page)).toHaveText('Online');
  await expect(userMessage(page, 'Second question.')).toBeVisible();
  await expect(page.getByRole('group', { name: 'Message versions' })).toContainText('1 / 2');

  await page.getByRole('group', { name: 'Message versions' }).getByRole('button', { name: 'Next edit' }).click();
  await expect(userMessage(page, 'Second question, edited.')).toBeVisible();
  await expect.poll(async () => {
    const { body } = await fetchConversation(page, id);
    const messages = body.messages as StoredMessage[];
    const edited = messages.find((m) => m.content === 'Second question, edited.')!;
    const answer = messages.find((m) => m.parent_id === edited.id)!;
    return body.conversation.active_leaf_id === answer.id;
  }).toBe(true);

  // Going on continues the shown branch: the new question follows the edit's answer.
  await send(page, 'Third question.');
  await stopAfterSomeText(page);
  const { body } = await fetchConversation(page, id);
  const messages = body.messages as StoredMessage[];
  const third = messages.find((m) => m.content === 'Third question.')!;
  const editedAnswer = messages.find((m) => m.id === third.parent_id)!;
  expect(messages.find((m) => m.id === editedAnswer.parent_id)!.content).toBe('Second question, edited.');
  await other.close();
});
