/** Page object for the app: what a user does and sees, by data-testid; and what the CLI draws, to compare. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test as base } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';
import type { BackendName } from '../src/pipeline/session-options.ts';
import { DEMO_SAMPLING_FLAGS } from '../tools/train/demo-sampling.ts';

export class AppPage {
  readonly prompt: Locator;
  /** The image-count select. */
  readonly imageCount: Locator;
  readonly seed: Locator;
  readonly seedLocked: Locator;
  readonly submit: Locator;
  readonly cancel: Locator;
  readonly backend: Locator;
  readonly progress: Locator;
  readonly error: Locator;
  readonly gridImages: Locator;
  /** The CLIP score captions of a ranked grid, best first. */
  readonly gridScores: Locator;
  readonly rankingEnabled: Locator;
  readonly candidates: Locator;

  constructor(readonly page: Page) {
    this.prompt = page.getByTestId('prompt.input');
    this.imageCount = page.getByTestId('prompt.count');
    this.seed = page.getByTestId('prompt.seed');
    this.seedLocked = page.getByTestId('settings.seedLocked');
    this.submit = page.getByTestId('prompt.submit');
    this.cancel = page.getByTestId('prompt.cancel');
    this.backend = page.getByTestId('status.backend');
    this.progress = page.getByTestId('status.progress');
    this.error = page.getByTestId('status.error');
    this.gridImages = page.getByTestId('grid.image');
    this.gridScores = page.getByTestId('grid.score');
    this.rankingEnabled = page.getByTestId('ranking.enabled');
    this.candidates = page.getByTestId('settings.candidates');
  }

  /**
   * Opens the app with `?backend=…` and waits until the model is loaded (Draw enabled). CLIP ranking
   * is off unless `rank` is set, so the other tests draw exactly the images they ask for.
   */
  async open(backend: BackendName, { rank = false }: { rank?: boolean } = {}): Promise<void> {
    await this.page.goto(`./?backend=${backend}&rank=${rank ? 'on' : 'off'}`);
    await expect(this.submit).toBeEnabled({ timeout: 120_000 });
  }

  /** Draws `prompt`; with `seed`, that seed, kept (the lock ticked: unlocked, Draw picks a random one). */
  async draw(prompt: string, count: number, seed?: number): Promise<void> {
    await this.prompt.fill(prompt);
    await this.imageCount.selectOption(String(count));
    if (seed !== undefined) {
      await this.seed.fill(String(seed));
      await this.seedLocked.check();
    }
    await this.submit.click();
  }

  /** The image codes of the last finished drawing, from the app's test hook. */
  async tokens(): Promise<number[][]> {
    return this.page.evaluate(() => window.__appTest!.state().tokens.map((codes) => [...codes]));
  }

  /** The RGBA pixels of the index-th image. */
  async canvasPixels(index: number): Promise<{ width: number; height: number; rgba: number[] }> {
    return this.gridImages.nth(index).evaluate((node) => {
      const canvas = node as HTMLCanvasElement;
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      return { width: canvas.width, height: canvas.height, rgba: Array.from(data) };
    });
  }
}

/** What `npm run generate --rank` writes to scores.json. */
export interface CliScores {
  /** Candidate index of each image shown, best first. */
  readonly shown: number[];
  readonly candidates: { index: number; score: number; tokens: number[] }[];
}

/**
 * Draws `prompt` with seed 0 on the demo model through `npm run generate` (tools/generate.ts, the page's pipeline in
 * Node) and returns the file it wrote: `tokens.json`, or with `candidates` (ranked by the demo CLIP) `scores.json`.
 */
export function drawInCli(file: 'tokens.json', drawing: { prompt: string; images: number }): number[][];
export function drawInCli(
  file: 'scores.json',
  drawing: { prompt: string; images: number; candidates: number },
): CliScores;
export function drawInCli(
  file: string,
  { prompt, images, candidates }: { prompt: string; images: number; candidates?: number },
): unknown {
  const out = mkdtempSync(join(tmpdir(), 'e2e-generate-'));
  const ranked = candidates === undefined ? [] : ['--rank', 'public/models/clip-demo', '--candidates', `${candidates}`];
  try {
    execFileSync(process.execPath, [
      ...['--import', 'tsx', 'tools/generate.ts', '--model', 'public/models/demo', ...ranked],
      ...['--prompt', prompt, '--seed', '0', '--images', `${images}`, '--out', out],
      ...DEMO_SAMPLING_FLAGS, // as the app draws the demo by default: its suggested sampling
    ]);
    return JSON.parse(readFileSync(join(out, file), 'utf8')) as unknown;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Distinct RGB colours in an RGBA buffer. */
export function colourCount(rgba: readonly number[]): number {
  const colours = new Set<number>();
  for (let i = 0; i < rgba.length; i += 4) colours.add((rgba[i]! << 16) | (rgba[i + 1]! << 8) | rgba[i + 2]!);
  return colours.size;
}

/** Mean absolute difference of two same-size RGBA buffers, in 0 … 255 units. */
export function meanAbsDiff(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

export const test = base.extend<{ app: AppPage }>({
  // The fixture callback is not named `use`, which the react-hooks lint rule would mistake for React's.
  app: async ({ page }, provide) => {
    // Surface worker/console errors in the report: SwiftShader failures often show only there.
    page.on('console', (message) => {
      if (message.type() === 'error') console.log(`[browser] ${message.text()}`);
    });
    page.on('pageerror', (error) => console.log(`[pageerror] ${error.message}`));
    await provide(new AppPage(page));
  },
});

export { expect };
