/**
 * CLIP ranking in the production build on WASM: a best-of-N grid, best first, the same ranking `npm run generate
 * --rank` writes.
 */
import { drawInCli, expect, test } from './app-page.ts';

const PROMPT = 'a red apple on a table';

test('ranks 4 candidates with CLIP on WASM and shows the best 2 first, scores on hover, as the CLI ranks them', async ({
  app,
}) => {
  await app.open('wasm', { rank: true });
  await expect(app.rankingEnabled).toBeChecked();
  await expect(app.page.getByTestId('ranking.status')).toHaveCount(0, { timeout: 60_000 }); // CLIP loaded
  await app.candidates.fill('4');
  await app.draw(PROMPT, 2, 0);
  await expect(app.progress).toContainText('Done', { timeout: 360_000 });
  await expect(app.error).toHaveCount(0);
  await expect(app.gridImages).toHaveCount(2);
  await expect(app.gridScores).toHaveCount(2);
  const shown = (await app.gridScores.allTextContents()).map(Number);
  expect(shown[0]!, 'best first').toBeGreaterThanOrEqual(shown[1]!);

  // A screen reader hears the score with each finished image's button (a button's content is not read out).
  await expect(app.page.getByTestId('grid.open').first()).toHaveAccessibleName(
    new RegExp(`^Open image 1 large, CLIP score ${shown[0]!.toFixed(2)} \\(rank 1, candidate \\d\\)$`),
  );
  await expect(app.gridScores.first()).toHaveCSS('opacity', '0');
  await app.gridImages.first().hover();
  await expect(app.gridScores.first()).toHaveCSS('opacity', '1');

  const cli = drawInCli('scores.json', { prompt: PROMPT, images: 2, candidates: 4 });
  const byIndex = new Map(cli.candidates.map((c) => [c.index, c]));
  expect(await app.tokens()).toEqual(cli.shown.map((index) => byIndex.get(index)!.tokens));
  cli.shown.forEach((index, i) => expect(Math.abs(byIndex.get(index)!.score - shown[i]!)).toBeLessThan(0.01));
});
