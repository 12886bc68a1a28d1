/** History: a drawing is kept with a thumbnail, survives a reload, reopens (the same tokens again) and deletes. */
import { expect, test } from './app-page.ts';

test('history survives a reload, reopens a drawing with the same tokens, and deletes', async ({ app, page }) => {
  await app.open('wasm');
  await app.draw('a quiet harbour', 1, 5);
  await expect(app.progress).toContainText('Done', { timeout: 300_000 });
  const tokens = await app.tokens();
  const items = page.getByTestId('history.item');
  await expect(items).toHaveCount(1);
  await expect(items.first()).toContainText('a quiet harbour');
  await expect(items.first().locator('img')).toHaveCount(1);

  await page.reload();
  await expect(app.submit).toBeEnabled({ timeout: 120_000 });
  await expect(items).toHaveCount(1);
  await expect(items.first()).toContainText('Seed 5');
  await page.getByTestId('storage.panel').locator('summary').click();
  await expect(page.getByTestId('storage.history')).toContainText('1 drawing,');

  await app.seed.fill('99');
  await app.prompt.fill('something else');
  await items.first().getByTestId('history.reopen').click();
  await expect(app.progress).toContainText('Done', { timeout: 300_000 });
  await expect(app.prompt).toHaveValue('a quiet harbour');
  expect(await app.tokens()).toEqual(tokens);
  await expect(items).toHaveCount(2);

  await items.first().getByTestId('history.delete').click();
  await expect(items).toHaveCount(1);
  // The focus, whose button went with the drawing, is on the history's heading, not lost to the page.
  await expect(page.locator('#history-title')).toBeFocused();
  // "Delete all" asks first, the focus on the answer that keeps them; Escape keeps them too.
  await page.getByTestId('history.delete-all').click();
  await expect(page.getByRole('group', { name: 'Delete the 1 drawing in the history?' })).toBeVisible();
  await expect(page.getByTestId('history.delete-all-no')).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('history.delete-all')).toBeFocused();
  await expect(items).toHaveCount(1);
  await page.getByTestId('history.delete-all').click();
  await page.getByTestId('history.delete-all-yes').click();
  await expect(items).toHaveCount(0);
  await page.reload();
  await expect(app.submit).toBeEnabled({ timeout: 120_000 });
  await expect(items).toHaveCount(0);
});
