/**
 * Writing a CLIP folder in the hub layout transformers.js reads, plus our manifest.json: the two ONNX
 * graphs of one dtype, and the manifest over every file, written beside --out and swapped in at the
 * end (staging.ts), so --out holds a complete old or a complete new folder.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLIP_CONFIG_FILES,
  CLIP_MANIFEST_FORMAT,
  clipGraphFiles,
  parseClipManifest,
} from '../../../src/model/clip-manifest.ts';
import type { ClipDtype, ClipManifest } from '../../../src/model/clip-manifest.ts';
import type { ManifestFile } from '../../../src/model/manifest.ts';
import { forEachPiece } from '../../node/read-fully.ts';
import { createStaging, replaceWithStaged } from '../../node/staging.ts';
import { checkExportTarget } from '../export-target.ts';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { buildClipTextGraph, buildClipVisionGraph } from './clip-graphs.ts';
import type { ClipConfig, ClipParams } from './clip-graphs.ts';

function describeFile(dir: string, path: string): ManifestFile {
  const hash = createHash('sha256');
  const bytes = forEachPiece(join(dir, path), 1 << 24, (piece) => hash.update(piece));
  return { path, bytes, sha256: hash.digest('hex') };
}

export function writeClipManifest(dir: string, modelId: string, dtype: ClipDtype, logitScale: number): ClipManifest {
  const graphs = clipGraphFiles(dtype);
  const files = [...CLIP_CONFIG_FILES, graphs.text, graphs.vision].sort().map((path) => describeFile(dir, path));
  const manifest: ClipManifest = { format: CLIP_MANIFEST_FORMAT, modelId, dtype, logitScale, files };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  // The page and the CLI read it through the same checks.
  return parseClipManifest(manifest);
}

/** onnx/text_model*.onnx and onnx/vision_model*.onnx of `dtype` (fp32, or q8: int8 weights per output channel). */
export function writeClipGraphs(dir: string, params: ClipParams, config: ClipConfig, dtype: 'fp32' | 'q8'): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const graphs = clipGraphFiles(dtype);
  const text = new GraphBuilder('text_model', null);
  buildClipTextGraph(text, params, config, dtype);
  writeFileSync(join(dir, graphs.text), text.serialize());
  const vision = new GraphBuilder('vision_model', null);
  buildClipVisionGraph(vision, params, config, dtype);
  writeFileSync(join(dir, graphs.vision), vision.serialize());
}

/** Runs `write` on a staging folder beside `out` and swaps it in; refuses targets as every export does. */
export function writeStaged(
  out: string,
  inputs: readonly string[],
  force: boolean,
  write: (dir: string) => ClipManifest,
): ClipManifest {
  const target = checkExportTarget(out, inputs, force);
  const staging = createStaging(target);
  try {
    const manifest = write(staging);
    replaceWithStaged(staging, target);
    return manifest;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
