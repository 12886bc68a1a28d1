/**
 * npm run bench:vqgan-gemm -- [--shape mini] [--images 1] [--runs 3] [--layers] [--json <file>]
 * The VQGAN's Winograd products alone, one thread each: for every 3×3 convolution of the preset's VQGAN, the batched
 * GEMM its Winograd graph runs on WASM ([a², tiles, C] × [a², C, K]; docs/model-format.md#vqgan-blocks), timed on
 * onnxruntime-web's WASM backend and onnxruntime-node (each product's kernel time from ONNX Runtime's own profiler,
 * so copying feeds and outputs is left out) and on our float32 kernel (src/kernels/f32-gemm-kernel.ts: `mul-add`
 * everywhere, `relaxed-madd` where this JavaScript engine compiles relaxed SIMD — in Node 20 run
 * `node --experimental-wasm-relaxed-simd --import tsx bench/vqgan-gemm.ts …`). Sums per decode.
 * `--layers` times whole convolutions instead (1 image): the exporter's Winograd subgraph of each distinct layer on
 * onnxruntime-web (its kernels' times summed from the profiler) against our kernels' (src/kernels/winograd-conv.ts:
 * both transforms, the products and the bias).
 * docs/performance.md#a-float-gemm-of-our-own, docs/performance.md#a-3x3-convolution-on-our-kernels.
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VqganConfig } from '../src/model/config.ts';
import type { OrtApi, SessionOptions } from '../src/pipeline/runtime.ts';
import { WASM_SESSION_OPTIONS } from '../src/pipeline/session-options.ts';
import { compileF32Gemm, f32PanelFloats, F32_PANEL_COLUMNS, packF32Panels } from '../src/kernels/f32-gemm-kernel.ts';
import type { F32Product } from '../src/kernels/f32-gemm-kernel.ts';
import { padTo } from '../src/kernels/int8-gemm-kernel.ts';
import { GraphBuilder } from '../tools/exporter/onnx/graph-builder.ts';
import { shippedWinogradTile } from '../src/model/winograd-transforms.ts';
import { winogradConv3x3 } from '../tools/exporter/graphs/winograd.ts';
import { StandaloneConv3x3 } from '../src/kernels/winograd-conv.ts';
import { vqganConv3x3s } from '../src/model/vqgan-levels.ts';
import { PRESET_SHAPES, PRESETS } from '../tools/exporter/presets.ts';
import type { PresetName } from '../tools/exporter/presets.ts';
import { fillNormal } from '../tools/exporter/prng.ts';
import { intArg, parseArgs, runCli, UsageError } from '../tools/cli-args.ts';
import { median } from './bench-report.ts';
import { endProfiling, kernelEvents } from './ort-profile.ts';
import { benchVersions } from './versions.ts';

/** One Winograd product: `taps` GEMMs of [rows, channels] × [channels, outputs], `count` of them per decode. */
interface Product {
  readonly size: number;
  readonly taps: number;
  readonly rows: number;
  readonly channels: number;
  readonly outputs: number;
  count: number;
}

/** The decoder's distinct 3×3 convolutions (size, channels in and out) with how many of each a decode runs. */
function distinctConvs(c: VqganConfig) {
  const found = new Map<string, { size: number; channels: number; outputs: number; count: number }>();
  for (const { size, channels, outputs } of vqganConv3x3s(c)) {
    const key = `${size} ${channels} ${outputs}`;
    const known = found.get(key);
    if (known) known.count++;
    else found.set(key, { size, channels, outputs, count: 1 });
  }
  return [...found.values()];
}

function products(c: VqganConfig, images: number): Product[] {
  return distinctConvs(c).map(({ size, channels, outputs, count }) => {
    const m = shippedWinogradTile(size);
    return { size, taps: (m + 2) ** 2, rows: images * Math.ceil(size / m) ** 2, channels, outputs, count };
  });
}

const flops = (p: Product): number => 2 * p.taps * p.rows * p.channels * p.outputs;

/** The product as ONNX Runtime runs it in the Winograd graph: MatMul of the operands by the transformed filters. */
function productGraph(p: Product, filters: Float32Array): Uint8Array {
  const b = new GraphBuilder('winograd_product', null);
  const v = b.input('v', 'float32', [p.taps, p.rows, p.channels]);
  const u = b.initializer('u', 'float32', [p.taps, p.channels, p.outputs], filters);
  b.output('m', b.op('MatMul', [v, u]), 'float32', [p.taps, p.rows, p.outputs]);
  return b.serialize();
}

/** ONNX Runtime's kernel time for the product (ms, median of `runs` after a warm-up), from its profiler. */
async function timeOrt(ort: OrtApi, web: boolean, p: Product, operands: Float32Array, filters: Float32Array, runs = 3) {
  const dir = mkdtempSync(join(tmpdir(), 'vqgan-gemm-'));
  const options: SessionOptions = web
    ? { ...WASM_SESSION_OPTIONS, enableProfiling: true }
    : { intraOpNumThreads: 1, interOpNumThreads: 1, enableProfiling: true, profileFilePrefix: join(dir, 'p') };
  const session = await ort.InferenceSession.create(productGraph(p, filters), options);
  const feeds = { v: new ort.Tensor('float32', operands, [p.taps, p.rows, p.channels]) };
  for (let r = 0; r <= runs; r++) for (const t of Object.values(await session.run(feeds))) t.dispose();
  const events = kernelEvents(endProfiling(session, web, dir)).filter((e) => /MatMul/.test(e.args?.op_name ?? ''));
  await session.release();
  rmSync(dir, { recursive: true, force: true });
  return median(events.slice(1).map((e) => e.dur / 1000));
}

type Gemm = (...args: number[]) => void;

/** Our kernel's time for the product: `taps` calls over one memory (ms, median of `runs` after a warm-up). */
function timeOwn(product: F32Product, p: Product, operands: Float32Array, filters: Float32Array, runs = 3) {
  const module = compileF32Gemm(product, { shared: false });
  if (!module) return null;
  const paddedOut = padTo(p.outputs, F32_PANEL_COLUMNS);
  const panelFloats = f32PanelFloats(p.channels, p.outputs);
  const bytes = 4 * (p.taps * panelFloats + operands.length + p.taps * p.rows * paddedOut + paddedOut);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm as Gemm;
  const heap = new Float32Array(memory.buffer);
  const operandsAt = p.taps * panelFloats;
  const outAt = operandsAt + operands.length;
  const zeroBias = 4 * (outAt + p.taps * p.rows * paddedOut);
  for (let t = 0; t < p.taps; t++) {
    const tap = filters.subarray(t * p.channels * p.outputs, (t + 1) * p.channels * p.outputs);
    packF32Panels(tap, p.channels, p.outputs, heap.subarray(t * panelFloats, (t + 1) * panelFloats));
  }
  heap.set(operands, operandsAt);
  const times: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const start = performance.now();
    for (let t = 0; t < p.taps; t++) {
      const x = 4 * (operandsAt + t * p.rows * p.channels);
      const y = 4 * (outAt + t * p.rows * paddedOut);
      gemm(4 * t * panelFloats, x, zeroBias, y, p.rows, paddedOut, p.channels, 0, paddedOut);
    }
    if (r > 0) times.push(performance.now() - start);
  }
  return median(times);
}

/** One distinct layer as the exporter's Winograd subgraph: x [1, size, size, C] → y, the filter transform folded. */
function layerGraph(size: number, channels: number, outputs: number, kernel: Float32Array, bias: Float32Array) {
  const b = new GraphBuilder('winograd_layer', null);
  const x = b.input('x', 'float32', [1, size, size, channels]);
  const weight = b.initializer('w', 'float32', [outputs, channels, 3, 3], kernel);
  const biasValue = b.initializer('b', 'float32', [outputs], bias);
  const one = b.constant('float32', [1], [1]);
  const m = shippedWinogradTile(size);
  b.output('y', winogradConv3x3(b, x, weight, biasValue, channels, outputs, size, m, one), 'float32', [
    1,
    size,
    size,
    outputs,
  ]);
  return b.serialize();
}

/**
 * Whole layers, 1 image, 1 thread: ONNX Runtime WASM's kernels summed (its filter transform folded at load) against
 * ours as a decode runs them (every layer transforms its filters each run).
 */
async function timeLayers(shape: PresetName, runs: number): Promise<void> {
  // conv_out's 3 outputs are left out: the output transform writes channels in fours.
  const distinct = distinctConvs(PRESET_SHAPES[shape].vqgan).filter(({ outputs }) => outputs % 4 === 0);
  let [ortTotal, ownTotal] = [0, 0];
  console.log(`VQGAN 3×3 layers, ${shape}, 1 image, 1 thread (ms per layer: web-wasm, ours, ratio; × count):`);
  for (const { size, channels, outputs, count } of distinct) {
    const kernel = fillNormal(new Float32Array(outputs * channels * 9), size, 0, 0.05);
    const bias = fillNormal(new Float32Array(outputs), outputs, 0, 0.1);
    const x = fillNormal(new Float32Array(size * size * channels), channels, 0, 1);
    const session = await ortWeb.InferenceSession.create(layerGraph(size, channels, outputs, kernel, bias), {
      ...WASM_SESSION_OPTIONS,
      enableProfiling: true,
    });
    const feeds = { x: new ortWeb.Tensor('float32', x, [1, size, size, channels]) };
    for (let r = 0; r <= runs; r++) for (const t of Object.values(await session.run(feeds))) t.dispose();
    const events = kernelEvents(endProfiling(session, true, tmpdir()));
    await session.release();
    // Every run runs the same nodes: the first run's (the warm-up) are left out, as ours is.
    const timed = events.slice(events.length / (runs + 1));
    const perRun = timed.reduce((sum, e) => sum + e.dur / 1000, 0) / runs;
    const conv = new StandaloneConv3x3({ kernel, bias, channels, outputs }, { m: shippedWinogradTile(size), size });
    conv.run(x);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      conv.compute();
      times.push(performance.now() - start);
    }
    const own = median(times);
    [ortTotal, ownTotal] = [ortTotal + count * perRun, ownTotal + count * own];
    const ratio = (own / perRun).toFixed(2);
    console.log(`  ${size} ${channels}→${outputs} × ${count}: ${perRun.toFixed(1)}, ${own.toFixed(1)} ms, ${ratio}×`);
  }
  console.log(
    `per decode: web-wasm ${ortTotal.toFixed(0)} ms, ours ${ownTotal.toFixed(0)} ms, ${(ownTotal / ortTotal).toFixed(2)}×`,
  );
}

const COLUMNS = ['web-wasm', 'node', 'own-mul-add', 'own-relaxed-madd'] as const;
type Column = (typeof COLUMNS)[number];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['shape', 'images', 'runs', 'json'], ['layers']);
  const shape = (args.values.get('shape') ?? 'mini') as PresetName;
  if (!PRESETS.includes(shape)) throw new UsageError(`--shape takes ${PRESETS.join(', ')}; got "${shape}"`);
  const images = intArg(args, 'images', 1, 1);
  const runs = intArg(args, 'runs', 3, 1);
  ortWeb.env.wasm.numThreads = 1;
  if (args.switches.has('layers')) {
    console.log(`load ${loadavg()[0]!.toFixed(2)}`);
    await timeLayers(shape, runs);
    console.log(`load ${loadavg()[0]!.toFixed(2)}`);
    process.exit(0);
  }
  const loadStart = loadavg()[0]!;
  const rows: ({ product: Product } & Partial<Record<Column, number | null>>)[] = [];
  for (const p of products(PRESET_SHAPES[shape].vqgan, images)) {
    const operands = fillNormal(new Float32Array(p.taps * p.rows * p.channels), p.rows, 0, 1);
    const filters = fillNormal(new Float32Array(p.taps * p.channels * p.outputs), p.channels, 0, 0.05);
    rows.push({
      product: p,
      'web-wasm': await timeOrt(ortWeb, true, p, operands, filters, runs),
      node: await timeOrt(ortNode, false, p, operands, filters, runs),
      'own-mul-add': timeOwn('mul-add', p, operands, filters, runs),
      'own-relaxed-madd': timeOwn('relaxed-madd', p, operands, filters, runs),
    });
  }
  const cell = (ms: number | null | undefined, p?: Product) =>
    ms == null ? 'n/a' : `${ms.toFixed(1)} ms${p ? ` ${(flops(p) / ms / 1e6).toFixed(0)} GF/s` : ''}`;
  console.log(`VQGAN Winograd products, ${shape}, ${images} image(s), 1 thread; per product, then × count per decode:`);
  console.log(['size C→K', 'taps × rows', 'count', ...COLUMNS].map((s) => s.padEnd(20)).join(''));
  const totals = new Map<Column, number | null>(COLUMNS.map((c) => [c, 0]));
  for (const row of rows) {
    const p = row.product;
    const line = [`${p.size} ${p.channels}→${p.outputs}`, `${p.taps} × ${p.rows}`, String(p.count)];
    for (const column of COLUMNS) {
      line.push(cell(row[column], p));
      const sum = totals.get(column);
      totals.set(column, sum == null || row[column] == null ? null : sum + p.count * row[column]);
    }
    console.log(line.map((s) => s.padEnd(20)).join(''));
  }
  console.log(['per decode', '', '', ...COLUMNS.map((c) => cell(totals.get(c)))].map((s) => s.padEnd(20)).join(''));
  const web = totals.get('web-wasm')!;
  for (const column of ['own-mul-add', 'own-relaxed-madd', 'node'] as const) {
    const t = totals.get(column);
    if (t != null && web) console.log(`${column} / web-wasm: ${(t / web).toFixed(2)}× the time`);
  }
  const json = args.values.get('json');
  if (json) {
    const report = {
      shape,
      images,
      threads: 1,
      runs,
      versions: benchVersions(),
      cpu: { model: cpus()[0]?.model ?? 'unknown' },
      load_average: { start: loadStart, end: loadavg()[0]! },
      products: rows.map(({ product, ...ms }) => ({ ...product, gflop: flops(product) / 1e9, ms })),
      per_decode_ms: Object.fromEntries(totals),
    };
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${json}`);
  }
  process.exit(0);
}

runCli(main);
