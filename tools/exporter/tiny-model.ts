/**
 * The tiny random model that tests and the dev server use, rebuilt whenever the exporter's code
 * changes: the export records a fingerprint of that code next to the model, and a stale or missing
 * fingerprint means export again.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { withFolderLock } from '../node/folder-lock.ts';
import { exportModel } from './export-model.ts';
import { exporterFingerprint } from './fingerprint.ts';
import type { ExportDtype } from './graphs/precision.ts';
import { writeRandomCheckpoint } from './random-checkpoint.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const STAMP = '.exporter-fingerprint';

/** The stamp sits beside the folder, so a model folder holds exactly what its manifest lists. */
function stampOf(dir: string): string {
  return join(dirname(dir), `.${basename(dir)}${STAMP}`);
}

function isCurrent(dir: string, fingerprint: string): boolean {
  return existsSync(stampOf(dir)) && readFileSync(stampOf(dir), 'utf8') === fingerprint;
}

/**
 * Runs `build` (which writes `dir`) unless `dir` was built under the same fingerprint; returns `dir`.
 * Processes wanting the same `dir` build it once: the others wait for the lock, then find it current.
 */
export function ensureStamped(dir: string, fingerprint: string, build: () => void): string {
  if (isCurrent(dir, fingerprint)) return dir;
  mkdirSync(dirname(dir), { recursive: true });
  return withFolderLock(dir, () => {
    if (isCurrent(dir, fingerprint)) return dir;
    build();
    writeFileSync(stampOf(dir), fingerprint);
    return dir;
  });
}

/** Runs `build` (which writes `outDir`) unless the folder was built by the current exporter code; returns `outDir`. */
export function ensureCurrentExport(outDir: string, build: () => void): string {
  return ensureStamped(outDir, exporterFingerprint(), build);
}

/** Exports the seed-1 tiny model in `dtype` to `outDir` unless a current one is there; returns `outDir`. */
export function ensureTinyModel(outDir: string, dtype: ExportDtype = 'fp32', cacheDir = join(ROOT, '.cache')): string {
  const fingerprint = exporterFingerprint();
  return ensureStamped(outDir, fingerprint, () => {
    const modelId = 'random-tiny-seed1';
    const checkpointDir = join(cacheDir, 'checkpoints', modelId);
    let checkpoint = { dalle: join(checkpointDir, 'dalle'), vqgan: join(checkpointDir, 'vqgan') };
    ensureStamped(checkpointDir, fingerprint, () => {
      checkpoint = writeRandomCheckpoint('tiny', 1, checkpointDir);
    });
    exportModel({ dalleDir: checkpoint.dalle, vqganDir: checkpoint.vqgan, outDir, dtype, modelId });
  });
}
