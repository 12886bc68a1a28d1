/**
 * The demo model: the checkpoint trained on synthetic captioned shapes (tools/train, committed in
 * the official Flax layout under tools/train/demo-checkpoint/), exported like any real checkpoint.
 * The export is redone whenever the exporter's code or the checkpoint changes.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { exportModel } from './export-model.ts';
import type { ExportDtype } from './graphs/precision.ts';
import { exporterFingerprint } from './fingerprint.ts';
import { ensureStamped } from './tiny-model.ts';

export const DEMO_CHECKPOINT = join(import.meta.dirname, '..', 'train', 'demo-checkpoint');
export const DEMO_MODEL_ID = 'demo-shapes';

/** sha256 over the checkpoint folders' files (config, weights, tokenizer). */
function checkpointFingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const sub of ['dalle', 'vqgan']) {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      hash
        .update(`${sub}/${name}`)
        .update('\0')
        .update(readFileSync(join(dir, sub, name)))
        .update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Exports the demo checkpoint in `dtype` to `outDir` unless a current export is there; returns `outDir`.
 * `int8Activations`: ExportOptions.int8Activations (q8; on by default).
 */
export function ensureDemoModel(
  outDir: string,
  dtype: ExportDtype = 'fp32',
  { checkpointDir = DEMO_CHECKPOINT, int8Activations }: { checkpointDir?: string; int8Activations?: boolean } = {},
): string {
  const fingerprint = `${exporterFingerprint()}-${checkpointFingerprint(checkpointDir)}`;
  return ensureStamped(outDir, fingerprint, () =>
    exportModel({
      dalleDir: join(checkpointDir, 'dalle'),
      vqganDir: join(checkpointDir, 'vqgan'),
      outDir,
      dtype,
      modelId: DEMO_MODEL_ID,
      ...(int8Activations === undefined ? {} : { int8Activations }),
    }),
  );
}
