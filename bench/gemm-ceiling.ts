/**
 * npm run bench:gemm -- [--shape mini] [--images 1,9] [--dtypes q8,q8-int8,fp32,q8-12bit] [--rounds 3] [--runs 7]
 *   [--threads 2] [--json <file>]
 * The decoder step's linear layers alone (every projection of one step at the preset's real shapes, random weights
 * written by the exporter's own `Layers.linear`), timed on onnxruntime-web's WASM backend and onnxruntime-node side
 * by side in one process, rounds interleaved. They are ≈ 70 % of a step on WASM, so their rate bounds what any change
 * around them can reach: the 9-image / 1-image ratio, WASM / native (docs/performance.md#the-gemm-ceiling).
 * q8 runs as a q8 export without int8 activations does: folded to float32 at load on WASM, int8 kernels natively;
 * q8-int8 is q8 with int8 activations (what WASM runs of a q8 export by default; its LM head stays float, as
 * there). q8-12bit runs the same q8 weights on our own WebAssembly kernel (`own-wasm`, as many threads, in this
 * process's JavaScript engine: docs/performance.md#our-own-int8-kernel).
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { OrtApi, Session, SessionOptions } from '../src/pipeline/runtime.ts';
import { WASM_SESSION_OPTIONS } from '../src/pipeline/session-options.ts';
import { PRESET_SHAPES, PRESETS } from '../tools/exporter/presets.ts';
import type { PresetName } from '../tools/exporter/presets.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { intArg, parseArgs, runCli, UsageError } from '../tools/cli-args.ts';
import { benchVersions } from './versions.ts';
import { median } from './bench-report.ts';
import { decoderLinearShapes, weightCount } from '../src/model/decoder-linears.ts';
import { gemmRate } from './decoder-linears.ts';
import { linearStack } from './linear-stand-in.ts';
import type { OrtDtype } from './linear-stand-in.ts';
import { ownLinearStack } from './own-linear-stack.ts';

/** `own-wasm`: our own WebAssembly int8 kernel (src/kernels/int8-gemm.ts) in this process's JavaScript engine. */
type Runtime = 'web-wasm' | 'node' | 'own-wasm';
/**
 * `q8-int8`: q8 with int8 activations (a q8 export's wasmHostCacheFile, docs/model-format.md#int8-activations);
 * `q8-12bit`: q8 weights with 12-bit activations on our own kernel, the LM head too.
 */
type Dtype = OrtDtype | 'q8-12bit';
const DTYPES: readonly Dtype[] = ['q8', 'q8-int8', 'fp32', 'q8-12bit'];

/** Bytes per weight the kernel reads: WASM folds q8 to float32; natively q8 stays int8; int8 activations, int8. */
function bytesPerWeight(runtime: Runtime, dtype: Dtype): number {
  if (dtype === 'q8-int8' || dtype === 'q8-12bit') return 1;
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

/** One runtime × dtype: runs the stand-in once on `rows` rows. */
interface Runner {
  runtime: Runtime;
  dtype: Dtype;
  run(x: Float32Array, rows: number): Promise<void>;
  release(): Promise<void>;
}

function ortRunner(runtime: Runtime, dtype: Dtype, ort: OrtApi, session: Session, d: number): Runner {
  return {
    runtime,
    dtype,
    async run(x, rows) {
      const out = await session.run({ x: new ort.Tensor('float32', x, [rows, d]) });
      for (const t of Object.values(out)) t.dispose();
    },
    release: () => session.release(),
  };
}

async function timeRuns(runner: Runner, rows: number, d: number, runs: number): Promise<number> {
  const x = fillNormal(new Float32Array(rows * d), rows, 0, 1);
  const times: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    const start = performance.now();
    await runner.run(x, rows);
    if (r >= 2) times.push(performance.now() - start);
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

  const runners: Runner[] = [];
  const d = config.dModel;
  for (const dtype of dtypes) {
    if (dtype === 'q8-12bit') {
      const own = await ownLinearStack(config, threads);
      runners.push({
        runtime: 'own-wasm',
        dtype,
        run: (x, rows) => Promise.resolve(void own.run(x, rows)),
        release: () => own.release(),
      });
      continue;
    }
    const model = linearStack(config, dtype);
    const web = await ortWeb.InferenceSession.create(model, { ...WASM_SESSION_OPTIONS });
    runners.push(ortRunner('web-wasm', dtype, ortWeb, web, d));
    runners.push(ortRunner('node', dtype, ortNode, await ortNode.InferenceSession.create(model, native), d));
  }
  const loadStart = loadavg()[0]!;
  const table: Row[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const runner of runners) {
      const { runtime, dtype } = runner;
      for (const n of images) {
        const ms = await timeRuns(runner, 2 * n, d, runs);
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
  console.log('| runtime  | weights         | images (rows) | ms     | GFLOP/s | weight GB/s |');
  console.log('| -------- | --------------- | ------------- | ------ | ------- | ----------- |');
  for (const r of table) {
    const kind = `${r.dtype} (${bytesPerWeight(r.runtime, r.dtype) === 1 ? 'int8' : 'float32'})`;
    console.log(
      `| ${r.runtime.padEnd(8)} | ${kind.padEnd(15)} | ${`${r.images} (${r.rows})`.padEnd(13)} | ${fmt(r.ms).padStart(6)} | ${fmt(r.gflops).padStart(7)} | ${fmt(r.weight_gbps).padStart(11)} |`,
    );
  }
  const find = (runtime: Runtime, dtype: Dtype, n: number) =>
    table.find((r) => r.runtime === runtime && r.dtype === dtype && r.images === n);
  const ratios: { what: string; value: number }[] = [];
  const [few, many] = [Math.min(...images), Math.max(...images)];
  for (const dtype of dtypes) {
    for (const runtime of ['web-wasm', 'node', 'own-wasm'] as const) {
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
  // Our kernel against what WASM runs today (ONNX Runtime's int8 activations) and against native q8.
  for (const n of images) {
    const own = find('own-wasm', 'q8-12bit', n);
    for (const [runtime, dtype] of [
      ['web-wasm', 'q8-int8'],
      ['node', 'q8'],
    ] as const) {
      const other = find(runtime, dtype, n);
      if (own && other)
        ratios.push({ what: `${n} image(s): own-wasm q8-12bit / ${runtime} ${dtype}`, value: own.ms / other.ms });
    }
  }
  console.log('ratios of the linear layers alone (the whole step adds attention, norms and copies on top):');
  for (const { what, value } of ratios) console.log(`  ${what.padEnd(44)} ${fmt(value, 2)}×`);
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
  for (const runner of runners) await runner.release();
  // onnxruntime-web's thread pool keeps Node alive.
  process.exit(0);
}

runCli(main);
