/**
 * A drawing's life in one visit: a random seed, the share link (opened in a fresh context it fills
 * the page, waits for Draw, then draws the same tokens), the grid and one image as PNG files with
 * the grid's exact pixels, the keyboard viewer, and screenshots at desktop and phone width.
 */
import type { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { DEMO_SAMPLING } from '../tools/train/demo-sampling.ts';
import { AppPage, expect, test } from './app-page.ts';

/** Decodes PNG bytes in the page (as the browser would show them): width, height and RGBA. */
async function decodePng(page: Page, png: Buffer): Promise<{ width: number; height: number; rgba: number[] }> {
  return page.evaluate(async (base64) => {
    const image = new Image();
    image.src = `data:image/png;base64,${base64}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const context = canvas.getContext('2d')!;
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    return { width: canvas.width, height: canvas.height, rgba: Array.from(data) };
  }, png.toString('base64'));
}

/** The RGBA of the tile at column `column` of a `width`-pixel-wide image of 256-pixel tiles in one row. */
function tile(rgba: readonly number[], width: number, column: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < 256; y++)
    out.push(...rgba.slice((y * width + column * 256) * 4, (y * width + column * 256 + 256) * 4));
  return out;
}

async function downloaded(page: Page, click: () => Promise<void>): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return readFileSync(await download.path());
}

test('draw, share, download, view: the link draws the same tokens elsewhere; files hold the exact pixels', async ({
  app,
  page,
  browser,
}, testInfo) => {
  test.slow();
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await app.open('wasm');
  await app.draw('a yellow star on a purple background', 2);
  await expect(app.progress).toContainText('Done', { timeout: 300_000 });
  const tokens = await app.tokens();
  expect(tokens).toHaveLength(2);
  const seed = await app.seed.inputValue();
  expect(seed, 'an unlocked seed is drawn at random and shown').toMatch(/^[0-9]+$/);

  await test.step('the grid and one image download as PNGs of the exact pixels', async () => {
    const grid = await decodePng(page, await downloaded(page, () => page.getByTestId('grid.download').click()));
    expect([grid.width, grid.height]).toEqual([512, 256]);
    for (const i of [0, 1]) expect(tile(grid.rgba, 512, i)).toEqual((await app.canvasPixels(i)).rgba);

    await page.getByTestId('grid.open').first().focus();
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('viewer')).toBeVisible();
    await page.keyboard.press('ArrowRight');
    await expect(page.getByTestId('viewer')).toContainText('Image 2 of 2');
    const one = await decodePng(page, await downloaded(page, () => page.getByTestId('viewer.download').click()));
    expect([one.width, one.height]).toEqual([256, 256]);
    expect(one.rgba).toEqual((await app.canvasPixels(1)).rgba);
    await page.keyboard.press('Escape');
    await expect(page.getByTestId('viewer')).toBeHidden();
    await expect(page.getByTestId('grid.open').nth(1), 'focus returns to the image shown').toBeFocused();
  });

  await test.step('screenshots at desktop and phone width; nothing wider than the phone', async () => {
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.screenshot({ path: testInfo.outputPath('app-desktop.png'), fullPage: true });
    await page.setViewportSize({ width: 360, height: 800 });
    await page.screenshot({ path: testInfo.outputPath('app-phone.png'), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  });

  await page.getByTestId('grid.copy-link').click();
  await expect(page.getByTestId('status.notice')).toContainText('Link copied');
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toContain(`seed=${seed}`);
  expect(link, "the demo's suggested condition scale, drawn with and carried explicitly").toContain(
    `scale=${DEMO_SAMPLING.conditionScale}&`,
  );

  await test.step('the link in a fresh browser context fills the page, waits, then draws the same tokens', async () => {
    const context = await browser.newContext();
    try {
      const other = new AppPage(await context.newPage());
      await other.page.goto(`${link}&backend=wasm`);
      await expect(other.submit).toBeEnabled({ timeout: 120_000 });
      await expect(other.prompt).toHaveValue('a yellow star on a purple background');
      await expect(other.seed).toHaveValue(seed);
      await expect(other.imageCount).toHaveValue('2');
      expect(await other.tokens(), 'nothing is drawn before Draw').toEqual([]);
      await other.submit.click();
      await expect(other.progress).toContainText('Done', { timeout: 300_000 });
      expect(await other.tokens()).toEqual(tokens);
    } finally {
      await context.close();
    }
  });
});
