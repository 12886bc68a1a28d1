/**
 * The demo CLIP: trained contrastively on the demo model's synthetic scenes (tools/train/train_clip.py,
 * committed as a CLIPModel with Flax weights under tools/train/clip-checkpoint/), exported like any
 * Flax CLIP folder. The export is redone whenever the exporter's code or the checkpoint changes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exporterFingerprint } from '../fingerprint.ts';
import { ensureStamped } from '../tiny-model.ts';
import { packageClip } from './export-clip.ts';

export const DEMO_CLIP_CHECKPOINT = join(import.meta.dirname, '..', '..', 'train', 'clip-checkpoint');
export const DEMO_CLIP_ID = 'demo-clip-shapes';
/** What the export reads from the checkpoint folder (the rest is the training's report and test data). */
const CHECKPOINT_FILES = ['config.json', 'flax_model.msgpack', 'vocab.json', 'merges.txt'];

function checkpointFingerprint(dir: string): string {
  const hash = createHash('sha256');
  for (const name of CHECKPOINT_FILES)
    hash
      .update(name)
      .update('\0')
      .update(readFileSync(join(dir, name)))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

/** Exports the demo CLIP (fp32) to `outDir` unless a current export is there; returns `outDir`. */
export function ensureDemoClip(outDir: string, checkpointDir = DEMO_CLIP_CHECKPOINT): string {
  const fingerprint = `${exporterFingerprint()}-${checkpointFingerprint(checkpointDir)}`;
  return ensureStamped(outDir, fingerprint, () => {
    packageClip({ clipDir: checkpointDir, outDir, dtype: 'fp32', modelId: DEMO_CLIP_ID, force: true });
  });
}
