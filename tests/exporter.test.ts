/** The exporter CLI path end to end: determinism, the manifest, and clear failures on bad checkpoints. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GRAPH_NAMES } from '../src/model/graph-io.ts';
import { parseManifest } from '../src/model/manifest.ts';
import { exportModel } from '../tools/exporter/export-model.ts';
import { FlaxCheckpoint } from '../tools/exporter/flax-msgpack.ts';
import { dalleBartLayout, vqganLayout, vqganLevels } from '../tools/exporter/layout.ts';
import { PRESET_SHAPES } from '../tools/exporter/presets.ts';
import { writeRandomCheckpoint } from '../tools/exporter/random-checkpoint.ts';
import { tinyCheckpoint, tinyModel } from './helpers/fixtures.ts';
import { tempDirs } from './helpers/temp-dirs.ts';

const temp = tempDirs('export-test-');

function readAll(dir: string): Map<string, Buffer> {
  return new Map(
    readdirSync(dir)
      .sort()
      .map((f) => [f, readFileSync(join(dir, f))]),
  );
}

void test('the same seed gives byte-identical checkpoints and exports', () => {
  const a = temp();
  const b = temp();
  const ca = writeRandomCheckpoint('tiny', 5, join(a, 'ckpt'));
  const cb = writeRandomCheckpoint('tiny', 5, join(b, 'ckpt'));
  assert.deepEqual(readAll(ca.dalle), readAll(cb.dalle));
  exportModel({ dalleDir: ca.dalle, vqganDir: ca.vqgan, outDir: join(a, 'out'), dtype: 'q4', modelId: 'm' });
  exportModel({ dalleDir: cb.dalle, vqganDir: cb.vqgan, outDir: join(b, 'out'), dtype: 'q4', modelId: 'm' });
  assert.deepEqual(readAll(join(a, 'out')), readAll(join(b, 'out')));
  const other = writeRandomCheckpoint('tiny', 6, join(b, 'ckpt6'));
  assert.notDeepEqual(
    readFileSync(join(other.dalle, 'flax_model.msgpack')),
    readFileSync(join(ca.dalle, 'flax_model.msgpack')),
  );
});

void test('the manifest lists every file with size and sha256, and the spec special tokens', () => {
  const dir = tinyModel('fp32');
  const manifest = parseManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  const onDisk = readdirSync(dir)
    .filter((f) => f !== 'manifest.json')
    .sort();
  assert.deepEqual(
    manifest.files.map((f) => f.path),
    onDisk,
  );
  for (const f of manifest.files) assert.equal(f.bytes, statSync(join(dir, f.path)).size);
  assert.equal(manifest.specialTokens.imageStart, 16384);
  assert.equal(manifest.specialTokens.imageCodes, 16384);
  assert.deepEqual(manifest.graphs.decoder.externalData, ['decoder.onnx_data']);
});

void test('the layout has bias-only pre-norms and offset-0 position tables (docs/model-format.md#layer-norm, docs/model-format.md#embeddings-and-positions)', () => {
  const layout = dalleBartLayout(PRESET_SHAPES.mini.dalleBart);
  const biasOnly = [...layout.keys()].filter((p) => p.endsWith('/bias') && !layout.has(p.replace(/bias$/, 'scale')));
  const enc = 'model/encoder/layers/FlaxBartEncoderLayers';
  const dec = 'model/decoder/layers/FlaxBartDecoderLayers';
  assert.deepEqual(biasOnly, [
    `${enc}/LayerNorm_0/bias`,
    `${enc}/GLU_0/LayerNorm_0/bias`,
    `${enc}/GLU_0/LayerNorm_1/bias`,
    'model/encoder/final_ln/bias',
    `${dec}/LayerNorm_0/bias`,
    `${dec}/LayerNorm_2/bias`,
    `${dec}/GLU_0/LayerNorm_0/bias`,
    `${dec}/GLU_0/LayerNorm_1/bias`,
    'model/decoder/final_ln/bias',
  ]);
  assert.deepEqual(layout.get('model/encoder/embed_positions/embedding')!.shape, [64, 1024]);
  assert.deepEqual(layout.get('model/decoder/embed_positions/embedding')!.shape, [256, 1024]);
  assert.deepEqual(layout.get('lm_head/kernel')!.shape, [1024, 16385]);
});

function brokenCopy(mutate: (dalle: string, vqgan: string) => void): { dalle: string; vqgan: string; out: string } {
  const root = temp();
  const { dalle, vqgan } = tinyCheckpoint();
  cpSync(dalle, join(root, 'dalle'), { recursive: true });
  cpSync(vqgan, join(root, 'vqgan'), { recursive: true });
  mutate(join(root, 'dalle'), join(root, 'vqgan'));
  return { dalle: join(root, 'dalle'), vqgan: join(root, 'vqgan'), out: join(root, 'out') };
}

function assertFailsCleanly(ckpt: { dalle: string; vqgan: string; out: string }, message: RegExp): void {
  assert.throws(
    () => exportModel({ dalleDir: ckpt.dalle, vqganDir: ckpt.vqgan, outDir: ckpt.out, dtype: 'fp32' }),
    message,
  );
  assert.equal(existsSync(ckpt.out), false, 'nothing is written at --out');
  const parent = join(ckpt.out, '..');
  assert.deepEqual(
    readdirSync(parent).filter((f) => f.includes('partial')),
    [],
    'no staging folder is left',
  );
}

void test('a missing checkpoint file is named', () => {
  const ckpt = brokenCopy((dalle) => rmSync(join(dalle, 'merges.txt')));
  assertFailsCleanly(ckpt, /merges\.txt is missing/);
  const noWeights = brokenCopy((_, vqgan) => rmSync(join(vqgan, 'flax_model.msgpack')));
  assertFailsCleanly(noWeights, /vqgan\/flax_model\.msgpack is missing/);
});

void test('a config.json of null is a ConfigError naming the file, not a TypeError', () => {
  const ckpt = brokenCopy((_, vqgan) => writeFileSync(join(vqgan, 'config.json'), 'null'));
  assertFailsCleanly(ckpt, /vqgan\/config\.json must hold a JSON object, got null/);
});

void test('a NaN or an infinity in a weight fails the export, naming the file, tensor and element', () => {
  const poison = (dir: string, path: string, element: number, value: number): void => {
    const file = join(dir, 'flax_model.msgpack');
    const ckpt = FlaxCheckpoint.open(file);
    const offset = ckpt.leaf(path).segments[0]!.offset + 4 * element;
    ckpt.close();
    const bytes = readFileSync(file);
    bytes.writeFloatLE(value, offset);
    writeFileSync(file, bytes);
  };
  const nan = brokenCopy((dalle) => poison(dalle, 'lm_head/kernel', 7, NaN));
  assertFailsCleanly(
    nan,
    /dalle\/flax_model\.msgpack: tensor "lm_head\/kernel" holds NaN at element 7; the checkpoint is corrupt/,
  );
  const inf = brokenCopy((_, vqgan) => poison(vqgan, 'decoder/conv_out/bias', 1, -Infinity));
  assertFailsCleanly(inf, /vqgan\/flax_model\.msgpack: tensor "decoder\/conv_out\/bias" holds -Infinity at element 1/);
});

void test('a shape that disagrees with config.json names the file and the tensor', () => {
  const ckpt = brokenCopy((dalle) => {
    const file = join(dalle, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, JSON.stringify({ ...config, encoder_ffn_dim: 65 }));
  });
  assertFailsCleanly(
    ckpt,
    /flax_model\.msgpack: DalleBart tensor "model\/encoder\/layers\/FlaxBartEncoderLayers\/GLU_0\/Dense_0\/kernel" has shape \[2, 32, 64\], config\.json implies \[2, 32, 65\]/,
  );
});

void test('a truncated msgpack is reported with the tensor being read', () => {
  const ckpt = brokenCopy((dalle) => {
    const file = join(dalle, 'flax_model.msgpack');
    truncateSync(file, Math.floor(statSync(file).size * 0.6));
  });
  assertFailsCleanly(ckpt, /flax_model\.msgpack: truncated msgpack in "(model|lm_head)\/[a-z_/]+"/);
});

void test('an existing --out is replaced only after a successful export', () => {
  const ckpt = brokenCopy((dalle) => rmSync(join(dalle, 'vocab.json')));
  const previous = join(ckpt.out, 'keep.txt');
  cpSync(tinyModel('fp32'), ckpt.out, { recursive: true });
  writeFileSync(previous, 'old model');
  // --force: keep.txt is not the export's own, so replacing the folder needs it.
  assert.throws(
    () => exportModel({ dalleDir: ckpt.dalle, vqganDir: ckpt.vqgan, outDir: ckpt.out, dtype: 'fp32', force: true }),
    /vocab\.json is missing/,
  );
  assert.equal(readFileSync(previous, 'utf8'), 'old model');
});

void test('graph outputs come straight from their producers: no Identity nodes', () => {
  // ORT's WebGPU EP has no Identity kernel: one on a present.* output would copy the KV cache to the CPU every step.
  const dir = tinyModel('fp32');
  const manifest = parseManifest(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
  for (const graph of GRAPH_NAMES) {
    const { file } = manifest.graphs[graph];
    assert.equal(readFileSync(join(dir, file)).includes('Identity'), false, `${file} has an Identity node`);
  }
});

void test('the released VQGAN decoder walk matches docs/model-format.md#vqgan-decoder (17 ResBlocks, 4 attention blocks, 4 upsamplers)', () => {
  const layout = vqganLayout(PRESET_SHAPES.mini.vqgan);
  const levels = vqganLevels(PRESET_SHAPES.mini.vqgan);
  assert.deepEqual(
    levels.map((l) => [l.level, l.resolution, l.blocks.length, l.attentions.length, l.upsample !== undefined]),
    [
      [4, 16, 3, 3, true],
      [3, 32, 3, 0, true],
      [2, 64, 3, 0, true],
      [1, 128, 3, 0, true],
      [0, 256, 3, 0, false],
    ],
  );
  const resBlocks = [...layout.keys()].filter((p) => p.endsWith('/conv1/kernel')).length;
  const attentions = [...layout.keys()].filter((p) => p.endsWith('/proj_out/kernel')).length;
  assert.equal(resBlocks, 17);
  assert.equal(attentions, 4);
  const shortcuts = [...layout.keys()].filter((p) => p.includes('nin_shortcut/kernel'));
  assert.deepEqual(shortcuts, ['decoder/up_3/block_0/nin_shortcut/kernel', 'decoder/up_1/block_0/nin_shortcut/kernel']);
  assert.deepEqual(layout.get('decoder/conv_in/kernel')!.shape, [3, 3, 256, 512]);
  assert.deepEqual(layout.get('decoder/conv_out/kernel')!.shape, [3, 3, 128, 3]);
});
