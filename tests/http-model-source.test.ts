/**
 * The worker's HTTP model source: manifest parsing, confinement to the model's URL, sizes before
 * and while downloading, sha256 and progress, with a fake fetch.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NewerFormatError } from '../src/model/format-version.ts';
import { IntegrityError, ModelFileUnavailableError } from '../src/model/integrity.ts';
import { ManifestError } from '../src/model/manifest.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import { modelFileUrl, modelFolderUrl } from '../src/store/model-http.ts';
import { fetchManifest, httpModelSource } from '../src/worker/http-model-source.ts';
import type { Fetch } from '../src/worker/http-model-source.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { sha256, syntheticContents, syntheticManifest } from './helpers/synthetic-model.ts';

const dir = tinyModel('fp32');
const BASE = 'https://models.test/tiny/';

/** Serves the folder, with optional per-file overrides (corruption, missing files). */
function folderFetch(overrides: Record<string, Uint8Array<ArrayBuffer> | number> = {}): Fetch {
  return (url) => {
    const path = url.slice(BASE.length);
    const override = overrides[path];
    if (typeof override === 'number')
      return Promise.resolve(new Response(null, { status: override, statusText: 'Not Found' }));
    return Promise.resolve(new Response(override ?? readFileSync(join(dir, path))));
  };
}

void test('files come back byte-identical, with progress up to their size', async () => {
  const manifest = await fetchManifest(BASE, { fetch: folderFetch() });
  const seen: number[] = [];
  const source = httpModelSource(BASE, manifest, {
    fetch: folderFetch(),
    onBytes: (file, loaded) => file === 'vqgan.onnx_data' && seen.push(loaded),
  });
  const bytes = await source.readFile('vqgan.onnx_data');
  assert.deepEqual(Buffer.from(bytes), readFileSync(join(dir, 'vqgan.onnx_data')));
  assert.equal(seen.at(-1), bytes.byteLength);
  assert.ok(seen.every((n, i) => i === 0 || n >= seen[i - 1]!));
});

void test('a corrupted or truncated file is an IntegrityError; an unlisted one a ManifestError', async () => {
  const manifest = await fetchManifest(BASE, { fetch: folderFetch() });
  const original = readFileSync(join(dir, 'encoder.onnx'));
  const flipped = Uint8Array.from(original);
  flipped[10]! ^= 1;
  const source = httpModelSource(BASE, manifest, {
    fetch: folderFetch({ 'encoder.onnx': flipped, 'vocab.json': Uint8Array.from(original.subarray(1)) }),
  });
  await assert.rejects(
    source.readFile('encoder.onnx'),
    (e: unknown) => e instanceof IntegrityError && e.expected.startsWith('sha256 '),
  );
  await assert.rejects(
    source.readFile('vocab.json'),
    (e: unknown) => e instanceof IntegrityError && /bytes/.test(e.expected),
  );
  await assert.rejects(source.readFile('secrets.txt'), ManifestError);
});

void test('HTTP errors and a bad manifest say which URL failed', async () => {
  await assert.rejects(
    fetchManifest(BASE, { fetch: folderFetch({ 'manifest.json': 404 }) }),
    (e: unknown) =>
      e instanceof ModelFileUnavailableError &&
      /manifest\.json is not available: the server answered HTTP 404/.test(e.message),
  );
  await assert.rejects(
    fetchManifest(BASE, { fetch: folderFetch({ 'manifest.json': new TextEncoder().encode('{"format":"other"}') }) }),
    ManifestError,
  );
  const notJson = new TextEncoder().encode('SECRET=hunter2');
  await assert.rejects(
    fetchManifest(BASE, { fetch: folderFetch({ 'manifest.json': notJson }) }),
    (e: unknown) => e instanceof ManifestError && !e.message.includes('hunter2'),
  );
});

// ── Untrusted servers and manifests ─────────────────────────────────────────

const CONTENTS = syntheticContents();
const MANIFEST = syntheticManifest(CONTENTS);
const VOCAB = CONTENTS.get('vocab.json')!;

/** A body that never ends (like /dev/zero), counting the chunks pulled from it. */
function endlessBody(chunkBytes = 1024): {
  body: ReadableStream<Uint8Array>;
  pulled: () => number;
  cancelled: () => boolean;
} {
  let pulls = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>(
    { pull: (c) => void (pulls++, c.enqueue(new Uint8Array(chunkBytes))), cancel: () => void (cancelled = true) },
    { highWaterMark: 0 },
  );
  return { body, pulled: () => pulls, cancelled: () => cancelled };
}

/** A source over MANIFEST whose fetch answers `answer(url)` and records every URL asked for. */
function untrusted(
  answer: (url: string) => Response,
  manifest: ModelManifest = MANIFEST,
): { source: ReturnType<typeof httpModelSource>; urls: string[] } {
  const urls: string[] = [];
  const source = httpModelSource(BASE, manifest, { fetch: (url) => (urls.push(url), Promise.resolve(answer(url))) });
  return { source, urls };
}

void test('a body running past its declared size is cut off there, not buffered to the end', async () => {
  const endless = endlessBody();
  const { source } = untrusted(() => new Response(endless.body));
  await assert.rejects(
    source.readFile('vocab.json'),
    (e: unknown) => e instanceof IntegrityError && e.actual === `more than ${VOCAB.byteLength} bytes`,
  );
  assert.ok(endless.pulled() <= 2, `${endless.pulled()} chunks read`);
  assert.ok(endless.cancelled());
});

void test('a Content-Length other than the declared size is refused before the body is read', async () => {
  const endless = endlessBody();
  const { source } = untrusted(() => new Response(endless.body, { headers: { 'content-length': '13000000000' } }));
  await assert.rejects(
    source.readFile('vocab.json'),
    (e: unknown) => e instanceof IntegrityError && e.actual === '13000000000 bytes',
  );
  assert.equal(endless.pulled(), 0);
});

void test('Content-Length is not trusted when the body is encoded: the bytes received decide', async () => {
  const { source } = untrusted(
    () => new Response(VOCAB, { headers: { 'content-length': '20', 'content-encoding': 'gzip' } }),
  );
  assert.deepEqual(await source.readFile('vocab.json'), VOCAB);
});

const INDEX_HTML = new TextEncoder().encode(
  `<!doctype html>\n<html lang="en"><head><title>App</title></head><body>${'x'.repeat(500)}</body></html>\n`,
);

void test('a web page answered for a model file (SPA fallback) says the file is missing, not corrupted', async () => {
  const labelled = untrusted(
    () =>
      new Response(INDEX_HTML, {
        headers: { 'content-type': 'text/html; charset=utf-8', 'content-length': String(INDEX_HTML.byteLength) },
      }),
  );
  await assert.rejects(
    labelled.source.readFile('vocab.json'),
    (e: unknown) => e instanceof ModelFileUnavailableError && /returned a web page instead of the file/.test(e.message),
  );
  const unlabelled = untrusted(() => new Response(INDEX_HTML.subarray(0, 20)));
  await assert.rejects(unlabelled.source.readFile('vocab.json'), /returned a web page instead of the file/);
  const manifestPage = (): Promise<Response> =>
    Promise.resolve(new Response(INDEX_HTML, { headers: { 'content-type': 'text/html' } }));
  await assert.rejects(
    fetchManifest(BASE, { fetch: manifestPage }),
    /manifest\.json is not available: the server returned a web page.*check the model URL/,
  );
});

void test('a manifest built in code with absolute, .. or encoded paths fetches nothing', async () => {
  for (const path of [
    'https://evil.example/vocab.json',
    '//evil.example/vocab.json',
    '/vocab.json',
    '../vocab.json',
    '%2e%2e/vocab.json',
    'a/%2E%2E/%2e%2e/x',
    'vocab.json?x=1',
  ]) {
    const manifest = {
      ...MANIFEST,
      files: [...MANIFEST.files, { path, bytes: VOCAB.byteLength, sha256: sha256(VOCAB) }],
    };
    const { source, urls } = untrusted(() => new Response(VOCAB), manifest);
    await assert.rejects(source.readFile(path), ManifestError, path);
    assert.deepEqual(urls, [], path);
  }
});

void test('a served manifest with an absolute URL is a ManifestError before any file is fetched', async () => {
  const hostile = {
    ...MANIFEST,
    files: MANIFEST.files.map((f) => (f.path === 'vocab.json' ? { ...f, path: 'https://evil.example/vocab.json' } : f)),
    tokenizer: { ...MANIFEST.tokenizer, vocab: 'https://evil.example/vocab.json' },
  };
  const urls: string[] = [];
  const serve: Fetch = (url) => (urls.push(url), Promise.resolve(new Response(JSON.stringify(hostile))));
  await assert.rejects(fetchManifest(BASE, { fetch: serve }), /"files\[\d\]\.path" must be a relative path/);
  assert.deepEqual(urls, [`${BASE}manifest.json`]);
});

void test('the model folder URL: http(s) only, and files resolve only under it', () => {
  assert.equal(modelFolderUrl('https://models.test/tiny').href, 'https://models.test/tiny/');
  assert.equal(modelFolderUrl('https://models.test/tiny/?v=1#x').href, 'https://models.test/tiny/');
  for (const bad of ['models/tiny/', 'file:///etc/', 'data:text/plain,x', 'javascript:alert(1)'])
    assert.throws(() => modelFolderUrl(bad), ManifestError, bad);
  const folder = modelFolderUrl(BASE);
  assert.equal(modelFileUrl(folder, 'onnx/vocab.json'), `${BASE}onnx/vocab.json`);
  for (const bad of ['../x', 'https://evil.example/x', '/tiny2/x', '..%2f..%2fx/../../../x'])
    assert.throws(() => modelFileUrl(folder, bad), ManifestError, bad);
});

void test('a busy server, an index.html without a type and a newer app’s manifest each get their own remedy', async () => {
  await assert.rejects(
    fetchManifest(BASE, { fetch: folderFetch({ 'manifest.json': 503 }) }),
    (e: unknown) => e instanceof ModelFileUnavailableError && e.status === 503 && /try again later/.test(e.message),
  );
  const page = new TextEncoder().encode('<!DOCTYPE html><html><body>app</body></html>');
  await assert.rejects(
    fetchManifest(BASE, { fetch: folderFetch({ 'manifest.json': page }) }),
    (e: unknown) => e instanceof ModelFileUnavailableError && /web page/.test(e.message),
  );
  const newer = {
    ...(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as object),
    format: 'dalle-mini-web/2',
  };
  await assert.rejects(
    fetchManifest(BASE, { fetch: folderFetch({ 'manifest.json': new TextEncoder().encode(JSON.stringify(newer)) }) }),
    (e: unknown) => e instanceof NewerFormatError && /newer version of this app wrote: reload the page/.test(e.message),
  );
});
