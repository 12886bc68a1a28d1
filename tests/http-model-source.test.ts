/** The worker's HTTP model source: manifest parsing, sha256 checks and progress, with a fake fetch over a real exported folder. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IntegrityError } from '../src/model/integrity.ts';
import { ManifestError } from '../src/model/manifest.ts';
import { fetchManifest, httpModelSource } from '../src/worker/http-model-source.ts';
import type { Fetch } from '../src/worker/http-model-source.ts';
import { tinyModel } from './helpers/fixtures.ts';

const dir = tinyModel('fp32');
const BASE = 'https://models.test/tiny/';

/** Serves the folder, with optional per-file overrides (corruption, missing files). */
function folderFetch(overrides: Record<string, Uint8Array<ArrayBuffer> | number> = {}): Fetch {
  return (url) => {
    const path = url.slice(BASE.length);
    const override = overrides[path];
    if (typeof override === 'number') return Promise.resolve(new Response(null, { status: override, statusText: 'Not Found' }));
    return Promise.resolve(new Response(override ?? readFileSync(join(dir, path))));
  };
}

void test('files come back byte-identical, with progress up to their size', async () => {
  const manifest = await fetchManifest(BASE, { fetch: folderFetch() });
  const seen: number[] = [];
  const source = httpModelSource(BASE, manifest, { fetch: folderFetch(), onBytes: (file, loaded) => file === 'vqgan.onnx_data' && seen.push(loaded) });
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
  const source = httpModelSource(BASE, manifest, { fetch: folderFetch({ 'encoder.onnx': flipped, 'vocab.json': Uint8Array.from(original.subarray(1)) }) });
  await assert.rejects(source.readFile('encoder.onnx'), (e: unknown) => e instanceof IntegrityError && e.expected.startsWith('sha256 '));
  await assert.rejects(source.readFile('vocab.json'), (e: unknown) => e instanceof IntegrityError && /bytes/.test(e.expected));
  await assert.rejects(source.readFile('secrets.txt'), ManifestError);
});

void test('HTTP errors and a bad manifest say which URL failed', async () => {
  await assert.rejects(fetchManifest(BASE, { fetch: folderFetch({ 'manifest.json': 404 }) }), /manifest\.json: HTTP 404/);
  await assert.rejects(fetchManifest(BASE, { fetch: folderFetch({ 'manifest.json': new TextEncoder().encode('{"format":"other"}') }) }), ManifestError);
});
