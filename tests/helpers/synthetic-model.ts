/**
 * A model folder with a valid manifest.json whose files are a few bytes each: enough for manifest
 * parsing and the sources' path, size and sha256 checks, without exporting real graphs.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { MANIFEST_FORMAT, TEXT_SPECIAL_TOKENS } from '../../src/model/manifest.ts';
import type { ModelManifest } from '../../src/model/manifest.ts';
import { PRESET_SHAPES } from '../../tools/exporter/presets.ts';

export const SYNTHETIC_FILES = [
  'decoder.onnx',
  'decoder.onnx_data',
  'encoder.onnx',
  'encoder.onnx_data',
  'merges.txt',
  'vocab.json',
  'vqgan.onnx',
  'vqgan.onnx_data',
];

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The manifest of a synthetic model holding `contents` (path → bytes). */
export function syntheticManifest(contents: ReadonlyMap<string, Uint8Array>): ModelManifest {
  const graph = (name: string) => ({
    file: `${name}.onnx`,
    externalData: [`${name}.onnx_data`],
    compute: 'float32' as const,
  });
  const { dalleBart, vqgan } = PRESET_SHAPES.tiny;
  return {
    format: MANIFEST_FORMAT,
    modelId: 'synthetic',
    dtype: 'fp32',
    dalleBart,
    vqgan,
    specialTokens: { ...TEXT_SPECIAL_TOKENS, imageStart: 16384, imageCodes: 16384 },
    graphs: { encoder: graph('encoder'), decoder: graph('decoder'), vqgan: graph('vqgan') },
    tokenizer: { vocab: 'vocab.json', merges: 'merges.txt' },
    files: [...contents].map(([path, bytes]) => ({ path, bytes: bytes.byteLength, sha256: sha256(bytes) })),
  };
}

export function syntheticContents(): Map<string, Uint8Array<ArrayBuffer>> {
  return new Map(SYNTHETIC_FILES.map((path) => [path, new TextEncoder().encode(`synthetic ${path}\n`)]));
}

/** Writes the synthetic files and `manifest` (default: the one that lists them) into `dir`. */
export function writeSyntheticModel(dir: string, manifest?: unknown): ModelManifest {
  const contents = syntheticContents();
  for (const [path, bytes] of contents) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  const valid = syntheticManifest(contents);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest ?? valid));
  return valid;
}
