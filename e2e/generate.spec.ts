/** Drawing with each backend on the demo model, in the production build. */
import { colourCount, drawInCli, expect, meanAbsDiff, test } from './app-page.ts';
import type { AppPage } from './app-page.ts';
import type { BackendName } from '../src/pipeline/session-options.ts';

const PROMPT = 'a red circle on a blue background';

/**
 * Opens the app on `backend`, draws one image of PROMPT (seed 0) and returns its pixels. `ranked`:
 * CLIP ranking on, the best of 2 candidates (its score comes back too).
 */
async function drawOne(
  app: AppPage,
  backend: BackendName,
  label: string,
  { ranked = false }: { ranked?: boolean } = {},
): Promise<{ rgba: number[]; score: number | null }> {
  await test.step(`load the model on ${label}`, async () => {
    await app.open(backend, { rank: ranked });
    await expect(app.backend).toContainText(label);
    await expect(app.backend).toContainText(`forced by ?backend=${backend}`);
    await expect(app.page.getByTestId('status.model')).toContainText('demo-shapes');
    await expect(app.error).toHaveCount(0);
  });
  if (ranked) {
    // CLIP loaded before Draw, so the drawing's time is the drawing's (on SwiftShader, CLIP's load takes a while).
    await expect
      .poll(() => app.page.evaluate(() => window.__appTest!.ranking().status), { timeout: 240_000 })
      .toBe('ready');
    await expect(app.page.getByTestId('ranking.enabled')).toBeChecked();
    await app.candidates.fill('2');
  }
  await test.step(`draw on ${label}`, async () => {
    await app.draw(PROMPT, 1, 0);
    await expect(app.cancel).toBeEnabled();
    await expect(app.progress).toContainText('Done', { timeout: 540_000 });
    await expect(app.gridImages).toHaveCount(1);
    await expect(app.error).toHaveCount(0);
  });
  const { width, height, rgba } = await app.canvasPixels(0);
  expect([width, height]).toEqual([256, 256]);
  // The demo paints each of the 16×16 codes as one flat colour: a shape on a background has a few colours, not one.
  expect(colourCount(rgba), 'the image is not flat').toBeGreaterThan(2);
  if (!ranked) return { rgba, score: null };
  await expect(app.gridScores).toHaveCount(1);
  return { rgba, score: Number(await app.gridScores.first().textContent()) };
}

test('draws one 256×256 image with ?backend=wasm, the tokens `npm run generate` samples', async ({ app }) => {
  await drawOne(app, 'wasm', 'WASM');
  expect(await app.tokens()).toEqual(drawInCli('tokens.json', { prompt: PROMPT, images: 1 }));
});

test.describe('on a machine with more cores', () => {
  // The worker script is rewritten on its way to the page, which a service worker serving it from its cache would skip.
  test.use({ serviceWorkers: 'block' });

  test('WASM runs ONNX Runtime on 3 threads of its WASM-only build and our kernels on 3, drawing the same tokens', async ({
    app,
    page,
  }) => {
    // This machine has 2 cores, where ONNX Runtime keeps one thread (src/worker/backend.ts); 4 give it 3, started as
    // workers of the build's own glue script: the path most visitors' machines take.
    await page.route(/\/assets\/dalle\.worker-[^/]+\.js$/, async (route) => {
      const response = await route.fetch();
      const cores = "Object.defineProperty(WorkerNavigator.prototype, 'hardwareConcurrency', { get: () => 4 });";
      await route.fulfill({ response, body: `${cores}\n${await response.text()}` });
    });
    const workers: string[] = [];
    page.on('worker', (worker) => workers.push(new URL(worker.url()).pathname));
    await drawOne(app, 'wasm', 'WASM');
    await expect(app.backend).toContainText('3 threads');
    const ortThreads = workers.filter((path) => path.endsWith('/ort-wasm-simd-threaded.mjs'));
    expect(ortThreads, 'ONNX Runtime started 2 threads besides its own').toHaveLength(2);
    expect(workers.filter((path) => path.includes('/gemm-helper.worker-'))).toHaveLength(2);
    expect(workers.filter((path) => path.includes('jsep'))).toEqual([]);
    expect(await app.tokens()).toEqual(drawInCli('tokens.json', { prompt: PROMPT, images: 1 }));
  });
});

test('ranks 2 candidates with CLIP on ?backend=webgpu and shows the same best image and score as WASM', async ({
  app,
}) => {
  // SwiftShader: ~1 min of decoder steps and ~1 min of VQGAN convolutions per image, and CI machines vary by half.
  test.setTimeout(12 * 60_000);
  // One drawing covers WebGPU and CLIP on WebGPU: the VQGAN's images go to CLIP inside the worker.
  const reference = await drawOne(app, 'wasm', 'WASM', { ranked: true });
  const webgpu = await drawOne(app, 'webgpu', 'WebGPU', { ranked: true });
  // Same tokens give the same picture up to float rounding; one different token would change whole patches.
  expect(meanAbsDiff(webgpu.rgba, reference.rgba)).toBeLessThan(1);
  expect(Math.abs(webgpu.score! - reference.score!)).toBeLessThan(0.05);
});

test('cancel stops a drawing, gives the grid back its last drawing and leaves the app ready', async ({ app }) => {
  await app.open('wasm');
  await app.draw(PROMPT, 9);
  await expect(app.progress).toContainText('step');
  await app.cancel.click();
  await expect(app.progress).toContainText('Cancelled');
  expect(await app.tokens(), 'no finished drawing').toEqual([]);
  await expect(app.error).toHaveCount(0);
  await expect(app.submit).toBeEnabled();
  await app.draw(PROMPT, 1);
  await expect(app.progress).toContainText('Done', { timeout: 120_000 });
  const finished = await app.tokens();
  await app.draw('a blue square', 9);
  await expect(app.progress).toContainText('step');
  await app.cancel.click();
  await expect(app.progress).toContainText('Cancelled');
  expect(await app.tokens(), 'the finished drawing is back, not half-formed previews').toEqual(finished);
  await expect(app.gridImages).toHaveCount(1);
});

test('an empty prompt shows an error instead of drawing', async ({ app }) => {
  await app.open('wasm');
  await app.prompt.fill('   ');
  await app.submit.click();
  await expect(app.error).toContainText('Type a prompt to draw');
  await expect(app.gridImages).toHaveCount(0);
});

test('a prompt longer than the model reads draws from its start and names the end it ignored', async ({
  app,
  page,
}) => {
  await app.open('wasm');
  await app.draw(`${'a red circle on a blue square, '.repeat(20)}and a yellow moon`, 1);
  await expect(app.progress).toContainText('Done', { timeout: 120_000 });
  // The ignored end is named by its first words (the whole of it would be a wall of text).
  await expect(page.getByTestId('status.notice')).toContainText(/drew without its end, from “[a-z ,]+…”/);
  await expect(app.gridImages).toHaveCount(1);
});
