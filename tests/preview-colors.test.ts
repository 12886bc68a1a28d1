/** Instant previews: the exporter's colour fit, the manifest entry, and the mosaic painter. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManifest } from '../src/model/manifest.ts';
import { ManifestError } from '../src/model/manifest.ts';
import { MosaicPreview } from '../src/pipeline/mosaic.ts';
import { fitCodeColors, fitCodes, patchMeans } from '../tools/exporter/code-colors.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

void test('the colour fit recovers a linear map from embeddings to colours', () => {
  const dim = 4;
  const codes = 64;
  const codebook = Float32Array.from({ length: codes * dim }, (_, i) => Math.sin(i * 1.7));
  const colour = (code: number, c: number): number =>
    0.5 + 0.1 * (c + 1) * codebook[code * dim]! - 0.05 * codebook[code * dim + c]!;
  const samples = fitCodes(4, 64, codes);
  const targets = Float64Array.from({ length: samples.length * 3 }, (_, i) =>
    colour(samples[Math.floor(i / 3)]!, i % 3),
  );
  const colours = fitCodeColors(codebook, dim, samples, targets);
  for (let code = 0; code < codes; code++)
    for (let c = 0; c < 3; c++)
      assert.ok(Math.abs(colours[code * 3 + c]! - 255 * colour(code, c)) <= 3, `code ${code}`);
});

void test('patch means clip to [0, 1] and average each grid cell', () => {
  const pixels = new Float32Array(3 * 4 * 4).fill(2);
  pixels.fill(0.25, 0, 16);
  assert.deepEqual(Array.from(patchMeans(pixels, 1, 3, 4, 2).slice(0, 3)), [0.25, 1, 1]);
});

void test('exported models ship preview colours; a manifest without them still loads; a wrong size is refused', () => {
  const dir = tinyModel('fp32');
  const manifest = openModelFolder(dir).manifest;
  assert.equal(manifest.preview?.codeColors, 'preview-colors.bin');
  const json = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const older = { ...json };
  delete older.preview;
  assert.equal(parseManifest(older).preview, undefined);
  const files = (json.files as { path: string; bytes: number }[]).map((f) =>
    f.path === 'preview-colors.bin' ? { ...f, bytes: f.bytes - 3 } : f,
  );
  assert.throws(() => parseManifest({ ...json, files }), ManifestError);
});

void test('the mosaic paints each sampled code as a block of its colour and keeps a decoded preview under later codes', () => {
  const colours = Uint8Array.from({ length: 8 * 3 }, (_, i) => i * 10);
  const mosaic = new MosaicPreview(colours, 2, 4);
  // Slot 0 of images 0 and 1 (codes 3 and 5): each a 2×2 block, the rest grey.
  const [a, b] = mosaic.paint(0, 0, [3, 5]);
  assert.deepEqual(Array.from(a!.slice(0, 4)), [90, 100, 110, 255]);
  assert.deepEqual(Array.from(b!.slice(4 * 4 + 4, 4 * 4 + 8)), [150, 160, 170, 255]);
  assert.deepEqual(Array.from(a!.slice(8, 12)), [128, 128, 128, 255]);
  const decoded = Uint8ClampedArray.from({ length: 64 }, (_, i) => (i % 4 === 3 ? 255 : 7));
  mosaic.replace(0, decoded);
  const [c] = mosaic.paint(0, 1, [1]);
  assert.deepEqual(Array.from(c!.slice(0, 12)), [7, 7, 7, 255, 7, 7, 7, 255, 30, 40, 50, 255]);
  // Images handed out never change: a view can tell a repaint by reference.
  assert.notEqual(c, decoded);
  assert.equal(decoded[8], 7);
  assert.deepEqual(Array.from(a!.slice(8, 12)), [128, 128, 128, 255]);
  // A later batch (first = 2) starts its own images; the earlier ones keep theirs.
  const [d] = mosaic.paint(2, 3, [2]);
  assert.deepEqual(Array.from(d!.slice(0, 4)), [128, 128, 128, 255]);
  assert.deepEqual(Array.from(d!.slice((3 * 4 + 3) * 4, (3 * 4 + 3) * 4 + 4)), [60, 70, 80, 255]);
});
