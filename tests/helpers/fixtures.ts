/** Test models built with the exporter itself, cached under the ignored .cache/ folder. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exportModel } from '../../tools/exporter/export-model.ts';
import type { ExportDtype } from '../../tools/exporter/graphs/precision.ts';
import { writeRandomCheckpoint } from '../../tools/exporter/random-checkpoint.ts';

const CACHE = join(import.meta.dirname, '..', '..', '.cache');

export function tinyCheckpoint(seed = 1): { dalle: string; vqgan: string } {
  const dir = join(CACHE, 'checkpoints', `random-tiny-seed${seed}`);
  if (existsSync(join(dir, 'vqgan', 'flax_model.msgpack'))) return { dalle: join(dir, 'dalle'), vqgan: join(dir, 'vqgan') };
  return writeRandomCheckpoint('tiny', seed, dir);
}

/** The tiny random model exported in `dtype` (seed 1), built once and reused. */
export function tinyModel(dtype: ExportDtype = 'fp32'): string {
  const out = join(CACHE, 'test-models', `tiny-seed1-${dtype}`);
  if (!existsSync(join(out, 'manifest.json'))) {
    const { dalle, vqgan } = tinyCheckpoint(1);
    exportModel({ dalleDir: dalle, vqganDir: vqgan, outDir: out, dtype, modelId: 'random-tiny-seed1' });
  }
  return out;
}
