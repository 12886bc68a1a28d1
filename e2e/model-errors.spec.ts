/** Untrusted model folders and input in the production build: clear errors, no request leaves our origin. */
import type { Page } from '@playwright/test';
import { expect, test } from './app-page.ts';

const OTHER_ORIGIN = 'https://other-origin.example';
const MANIFEST = '**/models/demo/manifest.json';

interface ManifestJson {
  files: { path: string }[];
  tokenizer: { vocab: string };
}

/** Serves the demo manifest with the vocab file renamed to `path`, everywhere it is named. */
async function serveManifestNamingVocab(page: Page, path: string): Promise<void> {
  await page.context().route(MANIFEST, async (route) => {
    const response = await route.fetch();
    const json = (await response.json()) as ManifestJson;
    for (const file of json.files) if (file.path === json.tokenizer.vocab) file.path = path;
    json.tokenizer.vocab = path;
    await route.fulfill({ response, json });
  });
}

test('a manifest listing a file at another origin is refused, and nothing is fetched from there', async ({
  app,
  page,
}) => {
  const requests: string[] = [];
  await page
    .context()
    .route(`${OTHER_ORIGIN}/**`, (route) => (requests.push(route.request().url()), route.fulfill({ body: '{}' })));
  await serveManifestNamingVocab(page, `${OTHER_ORIGIN}/vocab.json`);
  await page.goto('./?backend=wasm');
  await expect(app.error).toContainText('is not available');
  await expect(app.error).toContainText('must be a relative path of plain names');
  await expect(app.submit).toBeDisabled();
  // A way on without a reload: the check is made again (and refused again).
  await page.getByTestId('model.retry').click();
  await expect(app.error).toContainText('must be a relative path of plain names');
  expect(requests).toEqual([]);
});

test('a file missing on the server (answered with index.html) is reported as missing, not corrupted', async ({
  app,
  page,
}) => {
  await serveManifestNamingVocab(page, 'not-uploaded.json');
  await page.goto('./?backend=wasm');
  await expect(app.error).toContainText('not-uploaded.json');
  await expect(app.error).toContainText('the server returned a web page instead of the file');
  await expect(app.error).not.toContainText('corrupted');
});

test('a seed too large to hold exactly is refused with a message, not rounded', async ({ app }) => {
  await app.open('wasm');
  const seed = app.page.getByTestId('prompt.seed');
  await seed.fill('9007199254740993');
  await expect(app.page.getByTestId('prompt.seed-problem')).toContainText('The seed 9007199254740993 is too large');
  await expect(seed).toHaveAttribute('aria-invalid', 'true');
  await app.draw('a red apple', 1);
  await expect(app.error).toContainText('The seed 9007199254740993 is too large');
  await expect(app.progress).toHaveCount(0);
  await seed.fill('4294967295');
  await expect(app.page.getByTestId('prompt.seed-problem')).toHaveCount(0);
});
