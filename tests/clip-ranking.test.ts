/**
 * CLIP ranking end to end in Node: the random tiny CLIP export (byte-identical per seed, the hub
 * layout transformers.js reads), its manifest, scores against cosine similarities computed here
 * from the two embeddings, the ordering, and best-of-N on the tiny DALL·E model.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLIP_MANIFEST_FORMAT, parseClipManifest } from '../src/model/clip-manifest.ts';
import { drawBestOf } from '../src/pipeline/best-of-n.ts';
import { loadClipRanker, scoreImages } from '../src/pipeline/clip/clip-ranker.ts';
import type { ClipRanker } from '../src/pipeline/clip/clip-ranker.ts';
import { rankCandidates } from '../src/pipeline/clip/scores.ts';
import { generateImages } from '../src/pipeline/generate-images.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { loadPromptEncoder } from '../src/text/prompt-encoder.ts';
import { exportRandomClip, packageClip } from '../tools/exporter/clip/export-clip.ts';
import { openClipFolder, openModelFolder } from '../tools/node/model-folder.ts';
import { tinyClip, tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const tempDir = tempDirs('clip-');

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) =>
      statSync(join(dir, name)).isDirectory() ? listFiles(join(dir, name), `${prefix}${name}/`) : [`${prefix}${name}`],
    );
}

void test('the random tiny CLIP export is byte-identical for a seed and differs for another', () => {
  const [a, b, c] = [tempDir(), tempDir(), tempDir()].map((dir) => join(dir, 'clip'));
  exportRandomClip({ seed: 5, outDir: a! });
  exportRandomClip({ seed: 5, outDir: b! });
  exportRandomClip({ seed: 6, outDir: c! });
  const files = listFiles(a!);
  assert.deepEqual(files, [
    'config.json',
    'manifest.json',
    'onnx/text_model.onnx',
    'onnx/text_model_quantized.onnx',
    'onnx/vision_model.onnx',
    'onnx/vision_model_quantized.onnx',
    'preprocessor_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  for (const file of files) assert.deepEqual(readFileSync(join(b!, file)), readFileSync(join(a!, file)), file);
  assert.notDeepEqual(readFileSync(join(c!, 'onnx/text_model.onnx')), readFileSync(join(a!, 'onnx/text_model.onnx')));
  assert.deepEqual(readFileSync(join(c!, 'tokenizer.json')), readFileSync(join(a!, 'tokenizer.json')));
});

void test('the CLIP manifest lists one dtype’s files with sha256s and refuses one that lacks a graph', () => {
  const manifest = parseClipManifest(JSON.parse(readFileSync(join(tinyClip(), 'manifest.json'), 'utf8')));
  assert.equal(manifest.format, CLIP_MANIFEST_FORMAT);
  assert.equal(manifest.dtype, 'fp32');
  assert.ok(Math.abs(Math.exp(manifest.logitScale) - 100) < 1e-9);
  assert.ok(!manifest.files.some((file) => file.path.includes('quantized')));
  const lacking = { ...manifest, files: manifest.files.filter((file) => file.path !== 'onnx/vision_model.onnx') };
  assert.throws(() => parseClipManifest(lacking), /must list onnx\/vision_model\.onnx/);
  assert.throws(() => parseClipManifest({ ...manifest, logitScale: 40 }), /"logitScale" must be a number from 0 to 10/);
});

void test('a corrupted CLIP file is refused by its sha256 before transformers.js sees it', async () => {
  const dir = join(tempDir(), 'clip');
  exportRandomClip({ seed: 1, outDir: dir });
  const config = readFileSync(join(dir, 'config.json'));
  config[10] = config[10]! ^ 1;
  writeFileSync(join(dir, 'config.json'), config);
  await assert.rejects(loadClipRanker(ort, openClipFolder(dir), 'wasm'), /sha256|IntegrityError|config\.json/);
});

/** Cosine similarity × 100, computed plainly in float64 from the two embeddings. */
function expectedScore(text: Float32Array, image: Float32Array): number {
  let dot = 0;
  let tt = 0;
  let ii = 0;
  text.forEach((t, k) => {
    dot += t * image[k]!;
    tt += t * t;
    ii += image[k]! * image[k]!;
  });
  return (100 * dot) / Math.sqrt(tt * ii);
}

function images(count: number): Uint8ClampedArray[] {
  return Array.from({ length: count }, (_, n) =>
    Uint8ClampedArray.from({ length: 256 * 256 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * (n + 3) * 7919) % 251)),
  );
}

void test('scores are cosine × exp(logit_scale) of the two embeddings; the ranking is best first', async () => {
  const ranker = await loadClipRanker(ort, openClipFolder(tinyClip()), 'wasm');
  try {
    const text = await ranker.embedText('a red apple on a table');
    assert.equal(text.length, 16);
    const pictures = images(3);
    const embeddings = await ranker.embedImages(pictures, 256);
    const scores = await scoreImages(ranker, text, pictures, 256);
    scores.forEach((score, i) => assert.ok(Math.abs(score - expectedScore(text, embeddings[i]!)) < 1e-4));
    assert.ok(new Set(scores).size === 3, 'different images score differently');
    const ranked = rankCandidates(scores.map((score, index) => ({ index, score })));
    assert.deepEqual(
      ranked.map((c) => c.score),
      [...scores].sort((x, y) => y - x),
    );
    // Equal scores keep drawing order.
    assert.deepEqual(
      rankCandidates([
        { index: 2, score: 1 },
        { index: 0, score: 1 },
        { index: 1, score: 3 },
      ]).map((c) => c.index),
      [1, 0, 2],
    );
  } finally {
    await ranker.dispose();
  }
});

void test('the prompt is cut at 77 tokens: words past the limit do not change its embedding', async () => {
  const ranker = await loadClipRanker(ort, openClipFolder(tinyClip()), 'wasm');
  try {
    const long = Array.from({ length: 100 }, (_, i) => (i % 2 ? 'red' : 'apple')).join(' ');
    const ids = ranker.textIds(long);
    const end = ranker.textIds('')[1]!;
    assert.equal(ids.length, 77);
    assert.equal(ids[76], end, 'the end token is kept: CLIP pools there');
    assert.equal(Math.max(...ids), end);
    const a = await ranker.embedText(long);
    const b = await ranker.embedText(`${long} a blue house in the snow`);
    assert.deepEqual(a, b);
    assert.notDeepEqual(await ranker.embedText('a blue house'), a);
  } finally {
    await ranker.dispose();
  }
});

void test('best-of-N draws every candidate from its own seed stream, embeds the prompt once, keeps the best so far', async () => {
  const source = openModelFolder(tinyModel());
  const text = await loadPromptEncoder(source);
  const dalle = await loadDalle(ort, source);
  const loaded = await loadClipRanker(ort, openClipFolder(tinyClip()), 'wasm');
  const prompts: string[] = [];
  const ranker: ClipRanker = {
    ...loaded,
    embedText: (prompt) => (prompts.push(prompt), loaded.embedText(prompt)),
  };
  try {
    const prompt = text.encode('A red Apple!', 4);
    const request = { prompt, unconditional: text.unconditional, seed: 4, sampling: DEFAULT_SAMPLING };
    const updates: number[][] = [];
    const result = await drawBestOf(
      dalle.engine,
      ranker,
      { ...request, candidates: 3, shown: 2, text: 'A red Apple!', batch: { decoder: 2, vqgan: 2 } },
      { onRanked: (best, scored) => updates.push([scored, ...best.map((b) => b.index)]) },
    );
    assert.deepEqual(prompts, ['A red Apple!'], 'the typed prompt, embedded once');
    assert.equal(updates.length, 2, 'one update per part (2 + 1 candidates)');
    assert.equal(updates[0]![0], 2);
    assert.equal(updates[1]![0], 3);
    const plain = await generateImages(dalle.engine, { ...request, count: 3, batch: { decoder: 3, vqgan: 3 } });
    assert.deepEqual(
      result.candidates.map((c) => c.tokens),
      plain.tokens,
      'candidate i is image i of a plain drawing',
    );
    const order = rankCandidates(result.candidates).slice(0, 2);
    assert.deepEqual(
      result.best.map((b) => b.index),
      order.map((c) => c.index),
    );
    assert.ok(result.best[0]!.score >= result.best[1]!.score);
    const scores = await scoreImages(loaded, await loaded.embedText('A red Apple!'), plain.images, 256);
    result.candidates.forEach((c) => assert.ok(Math.abs(c.score - scores[c.index]!) < 1e-4));
  } finally {
    await Promise.all([dalle.dispose(), loaded.dispose()]);
  }
});

void test('a hub CLIP folder is packaged per dtype: that dtype’s graphs, the JSON files and a manifest, loadable', async () => {
  const hub = join(tempDir(), 'hub');
  exportRandomClip({ seed: 2, outDir: hub });
  const out = join(tempDir(), 'published');
  const manifest = packageClip({ clipDir: hub, outDir: out, dtype: 'q8', modelId: 'clip-test' });
  assert.deepEqual(listFiles(out), [
    'config.json',
    'manifest.json',
    'onnx/text_model_quantized.onnx',
    'onnx/vision_model_quantized.onnx',
    'preprocessor_config.json',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  assert.equal(manifest.modelId, 'clip-test');
  const ranker = await loadClipRanker(ort, openClipFolder(out), 'wasm');
  try {
    assert.equal((await ranker.embedText('a red apple')).length, 16);
  } finally {
    await ranker.dispose();
  }
  assert.throws(
    () => packageClip({ clipDir: hub, outDir: join(tempDir(), 'x'), dtype: 'fp16', modelId: 'x' }),
    /text_model_fp16\.onnx is missing/,
  );
});
