/**
 * English and Simplified Chinese: the browser's language picks one, the switch changes it (the message shown too)
 * and is remembered (a dark-mode screenshot on the way).
 */
import { expect, test } from './app-page.ts';

test.use({ locale: 'zh-CN' });

test('a Chinese browser gets the Chinese UI; the switch changes it and the choice survives a reload', async ({
  app,
}, testInfo) => {
  const { page } = app;
  await page.emulateMedia({ colorScheme: 'dark' });
  await app.open('wasm');
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('DALL·E Mini');
  await expect(app.submit).toHaveText('生成');
  await expect(page.getByLabel('提示词')).toBeVisible();
  await expect(page.getByTestId('status.model')).toContainText('模型');
  await page.screenshot({ path: testInfo.outputPath('app-zh-dark.png'), fullPage: true });

  // A message on the page when the language is switched is said again in the new one.
  await app.prompt.fill('   ');
  await app.submit.click();
  await expect(app.error).toContainText('请检查提示词');
  await page.getByTestId('language.select').selectOption('en');
  await expect(app.submit).toHaveText('Draw');
  await expect(app.error).toHaveText('Type a prompt to draw');
  // And back, and again: a message that is its own detail in English is said again each time.
  await page.getByTestId('language.select').selectOption('zh-CN');
  await expect(app.error).toContainText('请检查提示词');
  await page.getByTestId('language.select').selectOption('en');
  await expect(app.error).toHaveText('Type a prompt to draw');
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await page.reload();
  await expect(app.submit).toHaveText('Draw');
});
