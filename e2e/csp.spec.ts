/** The Content-Security-Policy of the production build: the app runs under it, other origins are out of reach. */
import type { Page } from '@playwright/test';
import { colourCount, expect, test } from './app-page.ts';

const OTHER_ORIGIN = 'https://other-origin.example';

interface Violation {
  readonly directive: string;
  readonly blocked: string;
}

declare global {
  interface Window {
    __cspViolations?: Violation[];
  }
}

/** Records the page's CSP violations and every request to OTHER_ORIGIN that gets as far as the network. */
async function watch(page: Page): Promise<{ requests: string[]; violations: () => Promise<Violation[]> }> {
  const requests: string[] = [];
  await page.context().route(`${OTHER_ORIGIN}/**`, (route) => {
    requests.push(route.request().url());
    return route.fulfill({ body: 'reached', headers: { 'access-control-allow-origin': '*' } });
  });
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolations!.push({ directive: e.effectiveDirective, blocked: e.blockedURI }),
    );
  });
  return { requests, violations: () => page.evaluate(() => window.__cspViolations ?? []) };
}

test('the page loads and draws on WASM with the CSP in force, violating nothing', async ({ app, page }) => {
  const { violations } = await watch(page);
  const cspMessages: string[] = [];
  page.on(
    'console',
    (message) => message.text().includes('Content Security Policy') && cspMessages.push(message.text()),
  );
  const response = await page.goto('./?backend=wasm');
  const policy = response?.headers()['content-security-policy'] ?? '';
  expect(policy).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(policy).toContain("connect-src 'self'");
  expect(policy).toContain("frame-ancestors 'self'");
  await expect(app.submit).toBeEnabled({ timeout: 120_000 });
  await app.draw('a red circle on a blue background', 1);
  await expect(app.progress).toContainText('Done', { timeout: 240_000 });
  const { rgba } = await app.canvasPixels(0);
  // The demo paints each 16×16 code as one flat colour: a drawing has a few colours, a blank canvas one.
  expect(colourCount(rgba)).toBeGreaterThan(2);
  expect(await violations()).toEqual([]);
  expect(cspMessages).toEqual([]);
});

test('fetches, scripts and workers from another origin are blocked, in the page and in the worker', async ({
  app,
  page,
}) => {
  const { requests, violations } = await watch(page);
  await app.open('wasm');

  const pageFetch = await page.evaluate(
    (url) =>
      fetch(url).then(
        () => 'fetched',
        () => 'blocked',
      ),
    `${OTHER_ORIGIN}/data.bin`,
  );
  expect(pageFetch).toBe('blocked');
  await page.evaluate((url) => {
    const script = document.createElement('script');
    script.src = url;
    document.head.append(script);
    try {
      new Worker(URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'text/javascript' })));
    } catch {
      // Chromium reports the worker-src violation and may also throw.
    }
  }, `${OTHER_ORIGIN}/script.js`);
  // Each is reported once per policy: the header's and the meta tag's.
  await expect
    .poll(async () => [...new Set((await violations()).map((v) => v.directive))].sort())
    .toEqual(['connect-src', 'script-src-elem', 'worker-src']);

  // The worker's policy comes from its own response headers, which vite preview (and a static host) must send.
  const worker = page.workers().find((w) => w.url().includes('dalle.worker'));
  expect(worker, 'the DALL·E worker is running').toBeDefined();
  const workerFetch = await worker!.evaluate(
    (url) =>
      fetch(url).then(
        () => 'fetched',
        () => 'blocked',
      ),
    `${OTHER_ORIGIN}/model.onnx`,
  );
  expect(workerFetch).toBe('blocked');
  expect(requests, 'no request reached the other origin').toEqual([]);
});
