/**
 * The model store in the production build: the demo is kept in IndexedDB, reloads draw from it, larger models
 * ask first.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './app-page.ts';

const PROMPT = 'a lighthouse at dawn';
const CATALOG = '**/models/catalog.json';

/** The real catalog with the demo folder offered a second time as a model that asks before downloading. */
async function offerDemoAsLargeModel(page: Page): Promise<void> {
  await page.context().route(CATALOG, async (route) => {
    const response = await route.fetch();
    const json = (await response.json()) as { models: Record<string, unknown>[] };
    json.models.unshift({ ...json.models[0], id: 'asks-first', name: 'Asks first', askBeforeDownload: true });
    await route.fulfill({ response, json });
  });
}

test('the demo model is stored on the first visit; a reload draws the same tokens from storage', async ({
  app,
  page,
}) => {
  await app.open('wasm');
  await app.draw(PROMPT, 1, 0);
  await expect(app.progress).toContainText('Done', { timeout: 120_000 });
  const first = await app.tokens();
  await page.getByTestId('storage.panel').locator('summary').click();
  await expect(page.getByTestId('storage.model')).toHaveCount(1);
  // Headless Chromium grants no persistence to a site it has no engagement with; either way the panel says which.
  await expect(page.getByTestId('storage.persistence')).toContainText(/^(Persistent|Best-effort) storage/);

  const modelRequests: string[] = [];
  page.on('request', (request) => {
    if (/\/models\/demo\/(?!manifest\.json)/.test(request.url())) modelRequests.push(request.url());
  });
  await app.open('wasm');
  await app.draw(PROMPT, 1, 0);
  await expect(app.progress).toContainText('Done', { timeout: 120_000 });
  expect(await app.tokens()).toEqual(first);
  expect(modelRequests, 'no model file is downloaded twice').toEqual([]);

  await page.getByTestId('storage.panel').locator('summary').click();
  await page.getByTestId('storage.delete').click();
  await expect(page.getByTestId('storage.model')).toHaveCount(0);
});

test('a model that asks first downloads only after consent, with per-file progress', async ({ app, page }) => {
  await offerDemoAsLargeModel(page);
  const modelRequests: string[] = [];
  page.on('request', (request) => {
    if (/\/models\/demo\/(?!manifest\.json)/.test(request.url())) modelRequests.push(request.url());
  });
  await page.goto('./?backend=wasm&model=asks-first');
  await expect(page.getByTestId('consent.panel')).toContainText('Download Asks first?');
  await expect(page.getByTestId('consent.panel')).toContainText('from this site');
  expect(modelRequests, 'nothing is downloaded before the visitor agrees').toEqual([]);
  await expect(page.getByTestId('consent.accept'), 'the keyboard lands on the primary action').toBeFocused();
  await page.keyboard.press('Enter');
  await expect(app.submit).toBeEnabled({ timeout: 120_000 });
  expect(modelRequests.length).toBeGreaterThan(0);
});

test('"Not now" on the consent panel goes back to the model that needs no download', async ({ app, page }) => {
  await offerDemoAsLargeModel(page);
  await page.goto('./?backend=wasm&model=asks-first');
  await page.getByTestId('consent.decline').click();
  await expect(page.getByTestId('consent.panel')).toHaveCount(0);
  await expect(app.submit).toBeEnabled({ timeout: 120_000 });
});

test('a model too large for the storage estimate is not offered for download', async ({ app, page }) => {
  await offerDemoAsLargeModel(page);
  await page.addInitScript(() => {
    Object.defineProperty(navigator.storage, 'estimate', { value: () => Promise.resolve({ usage: 0, quota: 1000 }) });
  });
  await page.goto('./?backend=wasm&model=asks-first');
  await expect(page.getByTestId('consent.space')).toContainText('the model needs');
  await expect(page.getByTestId('consent.accept')).toBeDisabled();
  await expect(app.submit).toBeDisabled();
});

test('a served file with one byte changed is refused, naming the file, and nothing is marked stored', async ({
  app,
  page,
}) => {
  await page.context().route('**/models/demo/vocab.json', async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    body[10] = body[10]! ^ 1;
    await route.fulfill({ response, body });
  });
  await page.goto('./?backend=wasm');
  await expect(app.error).toContainText('vocab.json');
  await expect(app.error).toContainText('corrupted');
  await page.getByTestId('storage.panel').locator('summary').click();
  await expect(page.getByTestId('storage.model')).toContainText('incomplete');
});

test('a download cut mid-file is offered again and resumes with a Range request from the last stored piece', async ({
  app,
  page,
}) => {
  const ranges: (string | null)[] = [];
  let cut = false;
  await page.context().route('**/models/demo/vqgan.onnx_data', async (route) => {
    ranges.push(route.request().headers().range ?? null);
    if (cut) return route.continue();
    cut = true;
    // The connection drops after 2.5 MiB (of the demo's 2.6): two whole 1 MiB pieces are stored.
    const response = await route.fetch();
    await route.fulfill({ response, body: Buffer.from(await response.body()).subarray(0, 2.5 * 2 ** 20) });
  });
  await page.goto('./?backend=wasm');
  await expect(app.error).toContainText('vqgan.onnx_data');
  await expect(app.error).toContainText('resumes');
  // Offered again on the page, no reload needed (and not "use the demo instead": this is the demo).
  await expect(page.getByTestId('consent.decline')).toHaveCount(0);
  await page.getByTestId('consent.accept').click();
  await expect(app.submit).toBeEnabled({ timeout: 120_000 });
  expect(ranges).toEqual([null, `bytes=${2 * 2 ** 20}-`]);
  await app.draw('a red apple', 1);
  await expect(app.progress).toContainText('Done', { timeout: 120_000 });
});

test('a catalog model whose files the site has not published says so, and the picker offers the others', async ({
  app,
  page,
}) => {
  await page.goto('./?backend=wasm&model=dalle-mini-q8');
  await expect(app.error).toContainText('DALL·E Mini is not published on this site yet');
  await page.getByTestId('model.select').selectOption('demo');
  await expect(app.submit).toBeEnabled({ timeout: 60_000 });
  await expect(app.error).toHaveCount(0);
});

test('in a cross-site iframe without storage, the app runs from memory, says so, and draws', async ({
  page,
  baseURL,
}) => {
  // The page itself is on 127.0.0.1; the framed app on localhost (another site, so its storage is third-party).
  const appUrl = new URL('./?backend=wasm', baseURL!.replace('127.0.0.1', 'localhost')).href;
  await page.context().route(appUrl, async (route) => {
    // The main page may only be framed by itself (frame-ancestors 'self'); embed.html allows any parent
    // (embed.spec.ts).
    const response = await route.fetch();
    const headers = { ...response.headers() };
    headers['content-security-policy'] = (headers['content-security-policy'] ?? '').replace(
      /frame-ancestors [^;]*;?/,
      '',
    );
    await route.fulfill({ response, headers });
  });
  await page.context().route(`${baseURL!}parent.html`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><iframe src="${appUrl}" width="900" height="900"></iframe>`,
    }),
  );
  await page.goto('./parent.html');
  const app = page.frameLocator('iframe');
  await expect(app.getByTestId('storage.notice')).toContainText('runs from memory', { timeout: 60_000 });
  await expect(app.getByRole('link', { name: 'Open the full page' })).toBeVisible();
  await expect(app.getByTestId('prompt.submit')).toBeEnabled({ timeout: 60_000 });
  await app.getByTestId('prompt.input').fill('a red apple');
  await app.getByTestId('prompt.count').selectOption('4');
  await app.getByTestId('prompt.submit').click();
  await expect(app.getByTestId('status.progress')).toContainText('Done', { timeout: 120_000 });
  await expect(app.getByTestId('grid.image')).toHaveCount(4);
});

test('stopping a download keeps what arrived and offers the rest', async ({ app, page }) => {
  await offerDemoAsLargeModel(page);
  // The VQGAN's weights arrive slowly, so there is time to press Stop.
  await page.context().route('**/models/demo/vqgan.onnx_data', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await route.continue().catch(() => undefined);
  });
  await page.goto('./?backend=wasm&model=asks-first');
  await page.getByTestId('consent.accept').click();
  await expect(page.getByTestId('download.file').first()).toBeVisible();
  await page.getByTestId('download.cancel').click();
  await expect(page.getByTestId('consent.panel')).toContainText('still to download');
  await expect(app.error).toContainText('The download was stopped');
  await page.getByTestId('consent.accept').click();
  await expect(app.submit).toBeEnabled({ timeout: 60_000 });
});

test('two tabs opening the site at once fetch each model file once between them, and both load it', async ({
  app,
  page,
}) => {
  const modelRequests: string[] = [];
  page.context().on('request', (request) => {
    if (/\/models\/demo\/(?!manifest\.json)/.test(request.url())) modelRequests.push(new URL(request.url()).pathname);
  });
  // The VQGAN's weights arrive slowly, so both tabs are downloading at the same time.
  await page.context().route('**/models/demo/vqgan.onnx_data', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await route.continue().catch(() => undefined);
  });
  const other = await page.context().newPage();
  await Promise.all([page.goto('./?backend=wasm'), other.goto('./?backend=wasm')]);
  await expect(app.submit).toBeEnabled({ timeout: 120_000 });
  await expect(other.getByTestId('prompt.submit')).toBeEnabled({ timeout: 120_000 });
  expect(modelRequests.length).toBeGreaterThan(0);
  expect(modelRequests, 'no file fetched by both tabs').toEqual([...new Set(modelRequests)]);
});
