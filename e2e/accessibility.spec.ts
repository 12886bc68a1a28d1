/**
 * axe-core on the app and on the embed widget, in the light and the dark scheme: no serious or
 * critical violation of WCAG 2.x A/AA or axe's best practices. Generic on purpose (whole pages, no
 * rule switched off), so it keeps checking whatever the pages grow.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, test } from './app-page.ts';
import { passThrough, servePage, widgetUrl } from './embed-page.ts';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** Serious and critical violations in both colour schemes, one line each: rule, help, where. */
async function seriousViolations(page: Page): Promise<string[]> {
  const found: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const { violations, passes } = await new AxeBuilder({ page }).withTags(TAGS).analyze();
    expect(passes.length, 'axe ran its rules').toBeGreaterThan(10);
    for (const violation of violations) {
      if (violation.impact !== 'serious' && violation.impact !== 'critical') continue;
      const where = violation.nodes.map((node) => node.target.join(' ')).join(', ');
      found.push(`${colorScheme}: ${violation.id} (${violation.impact}): ${violation.help} at ${where}`);
    }
  }
  return found;
}

test('the app: no serious or critical accessibility violations', async ({ app, page }) => {
  await app.open('wasm');
  await page.getByTestId('embed.open').click();
  await expect(page.getByTestId('embed.snippet')).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
});

test('the embed widget, drawn, in a cross-site frame: no serious or critical accessibility violations', async ({
  page,
  baseURL,
}, testInfo) => {
  const src = widgetUrl(baseURL!, 'backend=wasm&images=4&prompt=a%20red%20apple');
  await servePage(
    page,
    `${baseURL!}a11y-blog.html`,
    `<iframe title="DALL·E Mini" src="${src}" width="400" height="720" style="border:0"></iframe>`,
  );
  await passThrough(page, baseURL!);
  await page.goto('./a11y-blog.html');
  const widget = page.frameLocator('iframe');
  await expect(widget.getByTestId('embed.storage')).toBeVisible({ timeout: 60_000 });
  await expect(widget.getByTestId('prompt.submit')).toBeEnabled({ timeout: 120_000 });
  await widget.getByTestId('prompt.submit').click();
  await expect(widget.getByTestId('status.progress')).toContainText('Done', { timeout: 120_000 });
  await expect(widget.getByTestId('grid.image')).toHaveCount(4);
  expect(await seriousViolations(page)).toEqual([]);
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await page.locator('iframe').screenshot({ path: testInfo.outputPath(`embed-widget-${colorScheme}.png`) });
  }
});

test('keyboard: Enter draws and the focus moves to Cancel; Cancel hands it back to Draw; the grid is then not busy', async ({
  app,
  page,
}) => {
  await app.open('wasm');
  await app.prompt.fill('a red circle');
  await app.imageCount.selectOption('9');
  await app.prompt.press('Enter');
  await expect(app.cancel).toBeFocused();
  await expect(app.progress).toContainText('step');
  await page.keyboard.press('Enter');
  await expect(app.progress).toContainText('Cancelled');
  await expect(app.submit).toBeFocused();
  // No grid is left busy (with no drawing before, the cancelled one leaves none at all).
  await expect(page.locator('[data-testid="grid"][aria-busy="true"]')).toHaveCount(0);
});

test('the widget: a double-click on Draw draws (its second click does not hit the Cancel that took its place)', async ({
  page,
}) => {
  await page.goto('./embed.html?backend=wasm&images=1&prompt=a%20red%20apple');
  const draw = page.getByTestId('prompt.submit');
  await expect(draw).toBeEnabled({ timeout: 120_000 });
  await draw.dblclick();
  await expect(page.getByTestId('status.progress')).toContainText('Done', { timeout: 120_000 });
  await expect(page.getByTestId('grid.image')).toHaveCount(1);
});
