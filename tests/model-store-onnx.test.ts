/**
 * The real tiny model downloaded into IndexedDB (fake-indexeddb) and loaded from there into
 * onnxruntime-web: the same tokens as from disk.
 */
import 'fake-indexeddb/auto';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ModelSource } from '../src/model/model-source.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { downloadModel } from '../src/store/download.ts';
import type { Fetch } from '../src/store/download.ts';
import { ModelStore } from '../src/store/model-store.ts';
import { indexedDbBackend } from '../src/store/piece-store.ts';
import { storedModelSource } from '../src/store/store-model-source.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';

const dir = tinyModel('fp32');
const BASE = 'https://models.test/tiny/';
const folderFetch: Fetch = (url) => Promise.resolve(new Response(readFileSync(join(dir, url.slice(BASE.length)))));

async function greedyTokens(source: ModelSource): Promise<Int32Array> {
  const { engine, text, dispose } = await loadDalle(ort, source, sessionOptionsFor('wasm', source.manifest));
  try {
    const prompt = text.encode('a red apple', 1);
    return await engine.generateTokens({
      prompt,
      unconditional: text.unconditional,
      count: 1,
      seed: 3,
      sampling: { ...DEFAULT_SAMPLING, topK: 4 },
    });
  } finally {
    await dispose();
  }
}

void test('a model stored in IndexedDB loads into ONNX Runtime and draws the same tokens as from its folder', async () => {
  const folder = openModelFolder(dir);
  // 1 MiB pieces: the two large weight files are assembled from several.
  const store = new ModelStore(indexedDbBackend('onnx-test'), { pieceBytes: 2 ** 20, storage: undefined });
  await downloadModel(store, BASE, folder.manifest, { fetch: folderFetch });
  const stored = await storedModelSource(store, `${folder.manifest.modelId}/${folder.manifest.dtype}`);
  assert.deepEqual(await greedyTokens(stored), await greedyTokens(folder));
});
