/** Test models built with the exporter itself, cached under the ignored .cache/ folder. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { ModelSource } from '../../src/model/model-source.ts';
import type { ExportDtype } from '../../tools/exporter/graphs/precision.ts';
import { ensureDemoModel } from '../../tools/exporter/demo-model.ts';
import { ensureTinyModel } from '../../tools/exporter/tiny-model.ts';
import { ensureTinyClip } from '../../tools/exporter/clip/export-clip.ts';
import { ensureDemoClip } from '../../tools/exporter/clip/demo-clip.ts';

const CACHE = join(import.meta.dirname, '..', '..', '.cache');

/** The seed-1 tiny checkpoint in the hub layout (written by ensureTinyModel). */
export function tinyCheckpoint(): { dalle: string; vqgan: string } {
  ensureTinyModel(join(CACHE, 'test-models', 'tiny-seed1-fp32'));
  const dir = join(CACHE, 'checkpoints', 'random-tiny-seed1');
  return { dalle: join(dir, 'dalle'), vqgan: join(dir, 'vqgan') };
}

/** The tiny random model exported in `dtype` (seed 1), rebuilt when the exporter changes. */
export function tinyModel(dtype: ExportDtype = 'fp32'): string {
  return ensureTinyModel(join(CACHE, 'test-models', `tiny-seed1-${dtype}`), dtype, CACHE);
}

/** The seed-1 tiny random CLIP (hub layout + manifest), rebuilt when the exporter changes. */
export function tinyClip(): string {
  return ensureTinyClip(join(CACHE, 'test-models', 'clip-tiny-seed1'));
}

/**
 * The trained demo checkpoint (tools/train/demo-checkpoint) exported in `dtype`, rebuilt when the exporter or the
 * checkpoint changes.
 */
export function demoModel(dtype: ExportDtype = 'fp32'): string {
  return ensureDemoModel(join(CACHE, 'test-models', `demo-${dtype}`), dtype);
}

/** The demo model in q8 without the int8-activation WASM decoder (ExportOptions.int8Activations false). */
export function demoModelWithoutInt8Activations(): string {
  return ensureDemoModel(join(CACHE, 'test-models', 'demo-q8-float-activations'), 'q8', { int8Activations: false });
}

/** The trained demo CLIP (tools/train/clip-checkpoint) in fp32, rebuilt when the exporter or the checkpoint changes. */
export function demoClip(): string {
  return ensureDemoClip(join(CACHE, 'test-models', 'demo-clip'));
}

/**
 * `source` without a q8 model's int8-activation decoder (`wasmHostCacheFile`), so WASM host-cache runs load the float
 * `hostCacheFile`: for tests of exact equalities that int8 rounding is not part of.
 */
export function withoutInt8Decoder(source: ModelSource): ModelSource {
  const { wasmHostCacheFile, ...decoder } = source.manifest.graphs.decoder;
  assert.equal(wasmHostCacheFile !== undefined, source.manifest.dtype === 'q8');
  const graphs = { ...source.manifest.graphs, decoder };
  return { ...source, manifest: { ...source.manifest, graphs } };
}
