/** The benchmark's command line and JSON shape (fast; the benchmark itself never runs in npm test). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onOff, parseBenchArgs } from '../bench/bench-args.ts';
import { RUN_NUMBER_FIELDS, formatReport, medianRun, pairRounds, stepStats } from '../bench/bench-report.ts';
import type { BenchReport, BenchRun } from '../bench/bench-report.ts';
import { UsageError } from '../tools/cli-args.ts';
import { chromiumBrowserPids, readProcessTable, treeRssMb } from '../bench/browser/process-memory.ts';

void test('bench arguments: defaults, lists, and clear refusals', () => {
  assert.deepEqual(parseBenchArgs(['--model', 'm'], 4), {
    model: 'm',
    images: [1],
    steps: 256,
    runtimes: ['web', 'node'],
    threads: [4],
    repeat: 1,
    previews: true,
    graphCapture: [true],
  });
  const parsed = parseBenchArgs(
    ['--model', 'm', '--images', '1,9', '--runtimes', 'web', '--threads', '1,2', '--json', 'out.json', '--repeat', '3'],
    2,
  );
  assert.deepEqual(parsed.images, [1, 9]);
  assert.deepEqual(parsed.runtimes, ['web']);
  assert.deepEqual(parsed.threads, [1, 2]);
  assert.equal(parsed.json, 'out.json');
  assert.equal(parsed.repeat, 3);
  assert.equal(parseBenchArgs(['--model', 'm', '--previews', 'off'], 2).previews, false);
  const gpu = parseBenchArgs(['--model', 'm', '--runtimes', 'webgpu', '--graph-capture', 'on,off'], 2);
  assert.deepEqual([gpu.runtimes, gpu.graphCapture], [['webgpu'], [true, false]]);
  assert.deepEqual(onOff(undefined, 'gpu-sampling'), ['on']);
  assert.deepEqual(onOff('off, on,off', 'gpu-sampling'), ['off', 'on']);
  assert.throws(() => onOff('on,maybe', 'fold-weights'), /--fold-weights takes on, off or both/);
  for (const bad of [
    [],
    ['--model', 'm', '--images', '0'],
    ['--model', 'm', '--images', '1,x'],
    ['--model', 'm', '--runtimes', 'gpu'],
    ['--model', 'm', '--steps', '-1'],
    ['--model', 'm', 'extra'],
    ['--model', 'm', '--previews', 'no'],
    ['--model', 'm', '--graph-capture', 'yes'],
  ])
    assert.throws(() => parseBenchArgs(bad, 2), UsageError, bad.join(' '));
});

const run = (over: Partial<BenchRun>): BenchRun => ({
  runtime: 'web-wasm',
  images: 1,
  threads: 2,
  encoder_ms: 10,
  step_ms_first: 5,
  step_ms_median: 5,
  step_ms_last: 6,
  vqgan_ms_per_image: 100,
  seconds_per_image: 1.5,
  first_preview_ms: 200,
  peak_rss_mb: 300,
  load_avg_start: 1.5,
  load_avg_end: 1.7,
  ...over,
});

/** A report of `runs` (256 steps of a q8 model on a 2-core CPU). */
const reportOf = (runs: BenchRun[]): BenchReport => ({
  model_id: 'm',
  dtype: 'q8',
  steps: 256,
  repeat: 1,
  versions: {},
  cpu: { model: 'cpu', cores: 2 },
  load_average: { start: [1, 2, 3], end: [1.5, 2, 3] },
  date: '2026-01-01T00:00:00.000Z',
  runs,
});

void test('bench report: the issue’s JSON fields, medians over repeats, ratios in the table', () => {
  assert.deepEqual(stepStats([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]), {
    step_ms_first: 4.5,
    step_ms_median: 9.5,
    step_ms_last: 14.5,
  });
  const merged = medianRun([
    run({ encoder_ms: 1 }),
    run({ encoder_ms: 9 }),
    run({ encoder_ms: 3, first_preview_ms: null }),
  ]);
  assert.equal(merged.encoder_ms, 3);
  assert.equal(merged.first_preview_ms, null);
  const decoderRuns = medianRun([run({ decoder_run_ms: 2 }), run({ decoder_run_ms: 8 }), run({ decoder_run_ms: 3 })]);
  assert.equal(decoderRuns.decoder_run_ms, 3);
  assert.equal('decoder_run_ms' in medianRun([run({ decoder_run_ms: 2 }), run({})]), false);
  const gpuRuns = medianRun([
    run({ sampled_on_gpu: 1, wasm_heap_mb: 200 }),
    run({ sampled_on_gpu: 0.5, wasm_heap_mb: null }),
    run({ sampled_on_gpu: 0.75, wasm_heap_mb: 300 }),
  ]);
  assert.deepEqual([gpuRuns.sampled_on_gpu, gpuRuns.wasm_heap_mb], [0.75, null]);
  const report = reportOf([
    run({ decoder_file: 'decoder_host_cache_int8.onnx' }),
    run({ images: 9, step_ms_median: 10, decoder_file: 'decoder_host_cache_int8.onnx' }),
    run({ runtime: 'node', step_ms_median: 4, decoder_file: 'decoder_host_cache.onnx' }),
  ]);
  const json = JSON.parse(JSON.stringify(report)) as { runs: Record<string, unknown>[] };
  for (const field of ['runtime', 'images', 'threads', ...RUN_NUMBER_FIELDS]) assert.ok(field in json.runs[0]!, field);
  const table = formatReport(report);
  assert.match(table, /step 9 img \/ 1 img 2\.00×/);
  assert.match(table, /web-wasm \/ node: step 1\.25×/);
  assert.match(table, /decoder graphs: web-wasm decoder_host_cache_int8\.onnx, node decoder_host_cache\.onnx\n/);
  assert.match(table, /load average \(1, 5, 15 min\): 1\.00 2\.00 3\.00 at start, 1\.50 2\.00 3\.00 at end/);
});

void test('bench:browser --gpu-sampling on,off: WebGPU rows apart, compared side by side', () => {
  const report = reportOf([
    run({
      runtime: 'web-webgpu',
      images: 9,
      step_ms_median: 9,
      gpu_sampling: true,
      sampled_on_gpu: 1,
      wasm_heap_mb: 271,
      own_kernels_memory_mb: 451,
      decoder_run_ms: 2.5,
    }),
    run({ runtime: 'web-webgpu', images: 9, step_ms_median: 12, gpu_sampling: false, sampled_on_gpu: 0 }),
  ]);
  const table = formatReport(report);
  assert.match(table, /web-webgpu-cpu-sampling\s+9/);
  assert.match(table, /web-webgpu 9 img: 100 % of steps sampled from GPU candidates/);
  assert.match(table, /web-webgpu 9 img: ONNX Runtime's WASM heap 271 MB, our kernels' memories 451 MB\n/);
  assert.match(table, /web-webgpu 9 img: ONNX Runtime's WASM heap 271 MB/);
  assert.match(table, /web-webgpu 9 img: 2\.5 ms of a 9\.0 ms step inside the decoder's run/);
  assert.match(
    table,
    /9 img: WebGPU step, candidates \/ whole logits \(web-webgpu \/ web-webgpu-cpu-sampling\) 0\.75×/,
  );
});

void test('bench:browser --graph-capture on,off: each WebGPU variant compared with the one differing in that choice', () => {
  const webgpu = (over: Partial<BenchRun>) =>
    run({ runtime: 'web-webgpu', images: 4, gpu_sampling: true, graph_capture: true, ...over });
  const report = reportOf([
    webgpu({ step_ms_median: 6 }),
    webgpu({ step_ms_median: 8, graph_capture: false }),
    webgpu({ step_ms_median: 9, gpu_sampling: false }),
    webgpu({ step_ms_median: 12, gpu_sampling: false, graph_capture: false }),
  ]);
  const table = formatReport(report);
  assert.match(table, /web-webgpu-uncaptured\s+4/);
  assert.match(table, /web-webgpu-cpu-sampling-uncaptured\s+4/);
  assert.deepEqual(table.match(/4 img: WebGPU step, .*/g), [
    '4 img: WebGPU step, captured / step by step (web-webgpu / web-webgpu-uncaptured) 0.75×',
    '4 img: WebGPU step, candidates / whole logits (web-webgpu / web-webgpu-cpu-sampling) 0.67×',
    '4 img: WebGPU step, candidates / whole logits (web-webgpu-uncaptured / web-webgpu-cpu-sampling-uncaptured) 0.67×',
    '4 img: WebGPU step, captured / step by step (web-webgpu-cpu-sampling / web-webgpu-cpu-sampling-uncaptured) 0.75×',
  ]);
});

void test('bench:browser --fold-weights on,off: q8 weights dequantized every step against folded, uncaptured and captured', () => {
  const webgpu = (over: Partial<BenchRun>) =>
    run({ runtime: 'web-webgpu', images: 1, gpu_sampling: true, folded_weights: true, ...over });
  const report = reportOf([
    webgpu({ step_ms_median: 5, graph_capture: true }),
    webgpu({ step_ms_median: 6, graph_capture: false }),
    webgpu({ step_ms_median: 12, graph_capture: false, folded_weights: false }),
  ]);
  const table = formatReport(report);
  assert.match(table, /web-webgpu-uncaptured-dequantized\s+1/);
  assert.deepEqual(table.match(/1 img: WebGPU step, .*/g), [
    '1 img: WebGPU step, captured / step by step (web-webgpu / web-webgpu-uncaptured) 0.83×',
    '1 img: WebGPU step, folded / dequantized, both step by step (web-webgpu-uncaptured / web-webgpu-uncaptured-dequantized) 0.50×',
    '1 img: WebGPU step, folded and captured / dequantized (web-webgpu / web-webgpu-uncaptured-dequantized) 0.42×',
  ]);
});

void test('bench:browser memory: a Chromium tree’s resident memory, from its browser process down', () => {
  const entry = (pid: number, ppid: number, rssKb: number, args: string) => ({ pid, ppid, rssKb, args });
  const processes = [
    entry(10, 1, 100 * 1024, '/usr/lib/chromium/chromium --headless --user-data-dir=/tmp/a'),
    entry(11, 10, 50 * 1024, '/usr/lib/chromium/chromium --type=zygote'),
    entry(12, 11, 400 * 1024, '/usr/lib/chromium/chromium --type=renderer'),
    entry(13, 10, 1000 * 1024, '/usr/lib/chromium/chromium --type=gpu-process'),
    entry(20, 1, 70 * 1024, '/usr/lib/chromium/chromium --headless --user-data-dir=/tmp/b'),
    entry(21, 20, 999 * 1024, '/usr/lib/chromium/chromium --type=renderer'),
    entry(30, 1, 5 * 1024, 'node bench/browser/run.ts --model chromium-models'),
  ];
  assert.deepEqual([...chromiumBrowserPids(processes)], [10, 20]);
  assert.equal(treeRssMb(processes, 10), 1550);
  assert.equal(treeRssMb(processes, 20), 1069);
  assert.equal(treeRssMb(processes, 99), 0);
});

void test('bench:browser memory: the sampler reads parents and resident memory without starting a process', () => {
  const self = readProcessTable().find((entry) => entry.pid === process.pid);
  assert.ok(self, 'this process is in the table');
  assert.equal(self.ppid, process.ppid);
  // Within a factor of two of what Node reports (both read the kernel's count, moments apart).
  const rssKb = process.memoryUsage().rss / 1024;
  assert.ok(self.rssKb > rssKb / 2 && self.rssKb < rssKb * 2, `${self.rssKb} kB against ${rssKb}`);
});

void test('bench --runtimes web,web-ort: a q8 decoder on our own kernels against ONNX Runtime’s, side by side', () => {
  assert.deepEqual(parseBenchArgs(['--model', 'm', '--runtimes', 'web,web-ort'], 2).runtimes, ['web', 'web-ort']);
  const report = reportOf([
    run({ runtime: 'web-wasm', images: 1, step_ms_median: 20, own_kernels: true }),
    run({ runtime: 'web-wasm', images: 1, step_ms_median: 50, own_kernels: false }),
  ]);
  const table = formatReport(report);
  assert.match(table, /web-wasm-ort\s+1/);
  assert.match(table, /1 img 2 thr: WASM step, own kernels \/ ONNX Runtime 0\.40×/);
});

void test('bench:browser --gemm-kernel dot16,relaxed: our kernels’ two GEMM kernels side by side', () => {
  const kernel = (gemm_kernel_request: string, step_ms_median: number) =>
    run({
      runtime: 'web-wasm',
      images: 9,
      step_ms_median,
      own_kernels: true,
      gemm_kernel: gemm_kernel_request,
      gemm_kernel_reason: 'asked for',
      gemm_kernel_request,
    });
  const chosen = { ...kernel('fastest', 55), gemm_kernel: 'relaxed', gemm_kernel_reason: 'measured faster' };
  const table = formatReport(reportOf([kernel('dot16', 60), kernel('relaxed', 54), chosen]));
  assert.match(table, /web-wasm-dot16\s+9/);
  assert.match(table, /web-wasm-relaxed\s+9/);
  // Labelled by what was asked for: `fastest` is the page's default, whichever kernel it chose.
  assert.match(table, /\n\s+web-wasm\s+9/);
  assert.match(table, /web-wasm 9 img: GEMM kernel relaxed \(measured faster\)/);
  assert.match(table, /web-wasm-relaxed 9 img: GEMM kernel relaxed \(asked for\)/);
  assert.match(table, /9 img 2 thr: WASM step, relaxed \/ dot16 GEMM kernel 0\.90×/);
});

void test('bench:browser --native on: each round’s web-wasm run paired with native’s of the same images and threads', () => {
  const wasm = (images: number, step_ms_median: number, over: Partial<BenchRun> = {}) =>
    run({ runtime: 'web-wasm', images, step_ms_median, own_kernels: true, ...over });
  const node = (images: number, step_ms_median: number, vqgan_ms_per_image: number | null = 100) =>
    run({ runtime: 'node', images, step_ms_median, vqgan_ms_per_image });
  const pairs = pairRounds([
    // A WASM run on ONNX Runtime and one of a kernel asked for are not the page's own: never paired.
    [wasm(9, 60), wasm(9, 90, { own_kernels: false }), wasm(9, 70, { gemm_kernel_request: 'dot16' }), node(9, 40)],
    [wasm(9, 66, { vqgan_ms_per_image: 150 }), node(9, 44), wasm(1, 8), node(1, 10, null)],
    // A round without native's run of those images pairs nothing.
    [wasm(9, 50), node(1, 10)],
  ]);
  assert.deepEqual(
    pairs.map((p) => [p.round, p.images, p.web_wasm_step_ms, p.node_step_ms]),
    [
      [1, 9, 60, 40],
      [2, 9, 66, 44],
      [2, 1, 8, 10],
    ],
  );
  const table = formatReport({ ...reportOf([wasm(9, 63), node(9, 42)]), paired_rounds: pairs });
  assert.match(table, /9 img 2 thr: step 1\.50× 1\.50× \(1\.50×\); VQGAN 1\.00× 1\.50× \(1\.25×\)/);
  assert.match(table, /1 img 2 thr: step 0\.80× \(0\.80×\); VQGAN –/);
  assert.doesNotMatch(formatReport(reportOf([wasm(9, 63), node(9, 42)])), /within each round/);
});
