/** CLIP's image preprocessing (src/pipeline/clip/preprocess.ts) against the plain reference, and its settings file. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClipImageSettings } from '../src/pipeline/clip/image-settings.ts';
import { preprocessClipImage, resizeBicubicRgb, resizedSize } from '../src/pipeline/clip/preprocess.ts';
import { CLIP_PREPROCESSOR_CONFIG } from '../tools/exporter/clip/export-clip.ts';
import { referenceClipPixels } from './reference/clip-preprocess.ts';

const SETTINGS = parseClipImageSettings(CLIP_PREPROCESSOR_CONFIG);

/** A seeded RGBA picture with smooth areas and hard edges (noise alone would hide resize errors). */
function picture(width: number, height: number, seed: number): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(width * height * 4);
  let state = seed;
  const noise = (): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24) - 128;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      rgba[p] = (x * 255) / width + noise() / 8;
      rgba[p + 1] = ((x >> 4) + (y >> 4)) % 2 === 0 ? 230 : 20;
      rgba[p + 2] = 128 + noise();
      rgba[p + 3] = 255;
    }
  }
  return rgba;
}

/** Normalised values back in 8-bit levels, so differences read as "levels". */
function levels(value: number, c: number): number {
  return (value * SETTINGS.std[c]! + SETTINGS.mean[c]!) * 255;
}

for (const [width, height] of [
  [256, 256],
  [300, 200],
  [100, 130],
] as const) {
  void test(`a ${width}×${height} image matches the plain reference within one level, almost all exactly`, () => {
    const rgba = picture(width, height, width * 7 + height);
    const ours = preprocessClipImage(rgba, width, height, SETTINGS);
    const reference = referenceClipPixels(rgba, width, height, 224, 224, SETTINGS.mean, SETTINGS.std);
    assert.equal(ours.length, 3 * 224 * 224);
    let exact = 0;
    for (let i = 0; i < ours.length; i++) {
      const c = Math.floor(i / (224 * 224));
      const diff = Math.abs(levels(ours[i]!, c) - levels(reference[i]!, c));
      assert.ok(diff < 1 + 1e-3, `value ${i} differs by ${diff} levels`);
      if (diff < 1e-3) exact++;
    }
    assert.ok(exact / ours.length > 0.99, `only ${exact} of ${ours.length} values are exact`);
  });
}

void test('a constant image stays constant and normalises to (v/255 − mean) / std', () => {
  const rgba = new Uint8ClampedArray(256 * 256 * 4).fill(200);
  const ours = preprocessClipImage(rgba, 256, 256, SETTINGS);
  for (let c = 0; c < 3; c++) {
    const expected = (200 / 255 - SETTINGS.mean[c]!) / SETTINGS.std[c]!;
    assert.ok(Math.abs(ours[c * 224 * 224 + 1000]! - expected) < 1e-6);
  }
});

void test('resize sizes follow the processor: shorter side to 224, the longer scaled and truncated', () => {
  assert.deepEqual(resizedSize(256, 256, 224), { width: 224, height: 224 });
  assert.deepEqual(resizedSize(300, 200, 224), { width: 336, height: 224 });
  assert.deepEqual(resizedSize(100, 130, 224), { width: 224, height: 291 });
  // Same size in and out: the pixels pass through untouched.
  const rgb = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => (i * 37) % 256);
  assert.deepEqual(resizeBicubicRgb(rgb, 4, 4, 4, 4), rgb);
});

void test('both spellings of preprocessor_config.json read alike; other filters are refused', () => {
  const old = { ...CLIP_PREPROCESSOR_CONFIG, size: 224, crop_size: 224 };
  assert.deepEqual(parseClipImageSettings(old), SETTINGS);
  assert.throws(
    () => parseClipImageSettings({ ...CLIP_PREPROCESSOR_CONFIG, resample: 2 }),
    /"resample" must be 3 \(bicubic\)/,
  );
  assert.throws(
    () => parseClipImageSettings({ ...CLIP_PREPROCESSOR_CONFIG, image_std: [1, 0, 1] }),
    /"image_std" must be positive/,
  );
});
