/**
 * npm run bench:gemm -- [--shape mini] [--images 1,9] [--dtypes q8,q8-int8,fp32] [--rounds 3] [--runs 7] [--threads 2]
 *   [--json <file>]
 * The decoder step's linear layers alone (every projection of one step at the preset's real shapes, random weights
 * written by the exporter's own `Layers.linear`), timed on onnxruntime-web's WASM backend and onnxruntime-node side
 * by side in one process, rounds interleaved. They are ≈ 70 % of a step on WASM, so their rate bounds what any change
 * around them can reach: the 9-image / 1-image ratio, WASM / native (docs/performance.md#the-gemm-ceiling).
 * q8 runs as a q8 export without int8 activations does: folded to float32 at load on WASM, int8 kernels natively;
 * q8-int8 is q8 with int8 activations (what WASM runs of a q8 export by default; its LM head stays float, as
 * there).
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { DalleBartConfig } from '../src/model/config.ts';
import type { OrtApi, Session, SessionOptions } from '../src/pipeline/runtime.ts';
import { WASM_SESSION_OPTIONS } from '../src/pipeline/session-options.ts';
import { GraphBuilder } from '../tools/exporter/onnx/graph-builder.ts';
import { Layers } from '../tools/exporter/graphs/layers.ts';
import { PRESET_SHAPES, PRESETS } from '../tools/exporter/presets.ts';
import type { PresetName } from '../tools/exporter/presets.ts';
import { fillNormal, streamSeed } from '../tools/exporter/prng.ts';
import { intArg, parseArgs, runCli, UsageError } from '../tools/cli-args.ts';
import { benchVersions } from './versions.ts';
import { median } from './bench-report.ts';
import { decoderLinearShapes, weightCount } from '../src/model/decoder-linears.ts';
import { gemmRate } from './decoder-linears.ts';

type Runtime = 'web-wasm' | 'node';
/** `q8-int8`: q8 with int8 activations (a q8 export's wasmHostCacheFile, docs/model-format.md#int8-activations). */
type Dtype = 'q8' | 'q8-int8' | 'fp32';
const DTYPES: readonly Dtype[] = ['q8', 'q8-int8', 'fp32'];

/**
 * One step's projections in the decoder's order, each layer's q, k and v reading one input (so with int8 activations
 * they share its quantization, as in the decoder), the others chained; variance kept ≈ 1. The weights it writes are
 * checked against decoderLinearShapes, which the rates are computed from.
 */
function linearStack(config: DalleBartConfig, dtype: Dtype): Uint8Array {
  const b = new GraphBuilder('decoder_linears', null);
  const layers = dtype === 'q8-int8' ? new Layers(b, 'q8', 'int8-activations') : new Layers(b, dtype);
  const d = config.dModel;
  const f = config.decoderFfnDim;
  let written = 0;
  const linear = (x: string, name: string, inDim: number, outDim: number, into = layers): string => {
    const kernel = fillNormal(new Float32Array(inDim * outDim), streamSeed(1, name), 0, 1 / Math.sqrt(inDim));
    written += inDim * outDim;
    return into.linear(x, name, kernel, inDim, outDim);
  };
  let x = b.input('x', 'float32', ['rows', d]);
  for (let l = 0; l < config.decoderLayers; l++) {
    const qkv = ['self.q', 'self.k', 'self.v'].map((proj) => linear(x, `${l}.${proj}`, d, d));
    x = b.op('Mul', [b.op('Sum', qkv), b.scalar('float32', 1 / Math.sqrt(3))]);
    for (const proj of ['self.out', 'cross.q', 'cross.out']) x = linear(x, `${l}.${proj}`, d, d);
    const gated = b.op('Mul', [linear(x, `${l}.fc0`, d, f), linear(x, `${l}.fc1`, d, f)]);
    x = linear(gated, `${l}.fc2`, f, d);
  }
  // As the exporter writes it: the LM head's activations stay float32 also with int8 ones elsewhere.
  const V = config.imageVocabSize + 1;
  const head = dtype === 'q8-int8' ? new Layers(b, 'q8') : layers;
  b.output('logits', linear(x, 'lm_head', d, V, head), 'float32', ['rows', V]);
  if (written !== weightCount(decoderLinearShapes(config)))
    throw new Error(`the stand-in writes ${written} weights, decoderLinearShapes counts another number`);
  return b.serialize();
}

/** Bytes per weight the kernel reads: WASM folds q8 to float32; natively q8 stays int8; int8 activations, int8. */
function bytesPerWeight(runtime: Runtime, dtype: Dtype): number {
  if (dtype === 'q8-int8') return 1;
  return dtype === 'q8' && runtime === 'node' ? 1 : 4;
}

interface Row {
  runtime: Runtime;
  dtype: Dtype;
  images: number;
  rows: number;
  ms: number;
  ms_per_round: number[];
  gflops: number;
  weight_gbps: number;
}

async function timeRuns(ort: OrtApi, session: Session, rows: number, d: number, runs: number): Promise<number> {
  const x = new ort.Tensor('float32', fillNormal(new Float32Array(rows * d), rows, 0, 1), [rows, d]);
  const times: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    const start = performance.now();
    const out = await session.run({ x });
    if (r >= 2) times.push(performance.now() - start);
    for (const t of Object.values(out)) t.dispose();
  }
  return median(times);
}

const fmt = (v: number, digits = 1): string => v.toFixed(digits);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['shape', 'images', 'dtypes', 'rounds', 'runs', 'threads', 'json']);
  const shape = (args.values.get('shape') ?? 'mini') as PresetName;
  if (!PRESETS.includes(shape)) throw new UsageError(`--shape takes ${PRESETS.join(', ')}; got "${shape}"`);
  const images = (args.values.get('images') ?? '1,9').split(',').map(Number);
  if (images.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new UsageError('--images takes whole numbers ≥ 1');
  const dtypes = (args.values.get('dtypes') ?? DTYPES.join(',')).split(',') as Dtype[];
  if (dtypes.some((t) => !DTYPES.includes(t))) throw new UsageError(`--dtypes takes ${DTYPES.join(', ')}`);
  const rounds = intArg(args, 'rounds', 3, 1);
  const runs = intArg(args, 'runs', 7, 1);
  const threads = intArg(args, 'threads', 2, 1);
  const config = PRESET_SHAPES[shape].dalleBart;
  const weights = weightCount(decoderLinearShapes(config));
  ortWeb.env.wasm.numThreads = threads;
  const native: SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 };

  const sessions: { runtime: Runtime; dtype: Dtype; ort: OrtApi; session: Session }[] = [];
  for (const dtype of dtypes) {
    const model = linearStack(config, dtype);
    sessions.push({
      runtime: 'web-wasm',
      dtype,
      ort: ortWeb,
      session: await ortWeb.InferenceSession.create(model, { ...WASM_SESSION_OPTIONS }),
    });
    sessions.push({
      runtime: 'node',
      dtype,
      ort: ortNode,
      session: await ortNode.InferenceSession.create(model, native),
    });
  }
  const loadStart = loadavg()[0]!;
  const table: Row[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const { runtime, dtype, ort, session } of sessions) {
      for (const n of images) {
        const ms = await timeRuns(ort, session, 2 * n, config.dModel, runs);
        let row = table.find((r) => r.runtime === runtime && r.dtype === dtype && r.images === n);
        if (!row) {
          row = { runtime, dtype, images: n, rows: 2 * n, ms: 0, ms_per_round: [], gflops: 0, weight_gbps: 0 };
          table.push(row);
        }
        row.ms_per_round.push(ms);
      }
    }
    process.stderr.write(`round ${round + 1}/${rounds} done, load ${fmt(loadavg()[0]!, 2)}\n`);
  }
  for (const row of table) {
    row.ms = median(row.ms_per_round);
    const rate = gemmRate(weights, row.rows, row.ms, bytesPerWeight(row.runtime, row.dtype));
    row.gflops = rate.gflops;
    row.weight_gbps = rate.weightGBps;
  }
  const loadEnd = loadavg()[0]!;

  console.log(
    `${shape} decoder linear layers per step: ${fmt(weights / 1e6)} M weights; ${threads} thread(s); ` +
      `${cpus()[0]?.model ?? 'unknown CPU'}; load ${fmt(loadStart, 2)} → ${fmt(loadEnd, 2)}; median of ${rounds} round(s) × ${runs} runs`,
  );
  console.log('| runtime  | weights        | images (rows) | ms     | GFLOP/s | weight GB/s |');
  console.log('| -------- | -------------- | ------------- | ------ | ------- | ----------- |');
  for (const r of table) {
    const kind = `${r.dtype} (${bytesPerWeight(r.runtime, r.dtype) === 1 ? 'int8' : 'float32'})`;
    console.log(
      `| ${r.runtime.padEnd(8)} | ${kind.padEnd(14)} | ${`${r.images} (${r.rows})`.padEnd(13)} | ${fmt(r.ms).padStart(6)} | ${fmt(r.gflops).padStart(7)} | ${fmt(r.weight_gbps).padStart(11)} |`,
    );
  }
  const find = (runtime: Runtime, dtype: Dtype, n: number) =>
    table.find((r) => r.runtime === runtime && r.dtype === dtype && r.images === n);
  const ratios: { what: string; value: number }[] = [];
  const [few, many] = [Math.min(...images), Math.max(...images)];
  for (const dtype of dtypes) {
    for (const runtime of ['web-wasm', 'node'] as const) {
      const a = find(runtime, dtype, few);
      const b = find(runtime, dtype, many);
      if (a && b && few !== many)
        ratios.push({ what: `${runtime} ${dtype}: ${many} / ${few} image(s)`, value: b.ms / a.ms });
    }
    for (const n of images) {
      const w = find('web-wasm', dtype, n);
      const nat = find('node', dtype, n);
      if (w && nat) ratios.push({ what: `${dtype}, ${n} image(s): web-wasm / node`, value: w.ms / nat.ms });
    }
  }
  console.log('ratios of the linear layers alone (the whole step adds attention, norms and copies on top):');
  for (const { what, value } of ratios) console.log(`  ${what.padEnd(36)} ${fmt(value, 2)}×`);
  const json = args.values.get('json');
  if (json) {
    const report = {
      shape,
      weights,
      threads,
      rounds,
      runs,
      versions: benchVersions(),
      cpu: { model: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
      load_avg_start: loadStart,
      load_avg_end: loadEnd,
      results: table,
      ratios,
    };
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  }
  for (const { session } of sessions) await session.release();
  // onnxruntime-web's thread pool keeps Node alive.
  process.exit(0);
}

runCli(main);
