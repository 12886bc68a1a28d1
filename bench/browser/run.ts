/**
 * npm run bench:browser -- --model <dir> [--images 1,9] [--steps 256] [--backends wasm,webgpu] [--threads 2]
 *   [--gpu-sampling on,off] [--graph-capture on,off] [--fold-weights on,off] [--gemm-kernel fastest,dot16,relaxed]
 *   [--native off|on] [--repeat 1] [--json <file>] [--port 4302]
 * The benchmark in Chromium (Debian's /usr/bin/chromium, the e2e tests' flags): Vite's dev server serves
 * bench/browser/bench.html and the model folder, Playwright opens a fresh Chromium per measurement (its processes' peak
 * resident memory is the run's `peak_rss_mb`), and the page runs the same measureGeneration as `npm run bench` in a
 * module worker. Writes the same JSON. On a machine without a GPU,
 * WebGPU is SwiftShader (a CPU emulation): its numbers are a smoke test, and the output says so. `--gpu-sampling`
 * (on by default, as in the app) times WebGPU sampling from the shader's candidates, from the whole logits, or both;
 * `--graph-capture` (on by default, as in the app) the decoder captured and replayed, run step by step, or both;
 * `--fold-weights` (q8 on WebGPU; on by default, as the app does where they fit) the decoder's weights dequantized
 * to float32 once at load (by the folder's dequantization graph, or folded by ONNX Runtime in a folder without one),
 * dequantized at every step (then uncaptured, as the app would run it), or both. `--gemm-kernel` (WASM; `fastest` by
 * default, as in the app) our kernels' GEMM: the one measured faster at load, or `dot16` or `relaxed` (relaxed SIMD),
 * each in its own runs, side by side. `--native on` runs native ONNX Runtime (onnxruntime-node, `npm run bench`'s
 * `node` runtime, in a fresh process) for each image count in every round, after the page's runs of that round, and
 * prints each round's web-wasm / node ratios beside their medians.
 */
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { chromium } from '@playwright/test';
import { createServer } from 'vite';
import type { Plugin } from 'vite';
import { CHROMIUM_FLAGS } from '../../playwright.config.ts';
import { intArg, parseArgs, runCli, UsageError } from '../../tools/cli-args.ts';
import { openModelFolder } from '../../tools/node/model-folder.ts';
import { ISOLATION_HEADERS } from '../../tools/web/security-headers.ts';
import { onOff } from '../bench-args.ts';
import { GEMM_KERNEL_REQUESTS, isGemmKernelRequest } from '../../src/kernels/gemm-kernel-choice.ts';
import { formatReport, medianRun, pairRounds } from '../bench-report.ts';
import type { ChildJob } from '../bench-child.ts';
import { runChild } from '../run-child.ts';
import type { BenchReport, BenchRun } from '../bench-report.ts';
import { benchVersions } from '../versions.ts';
import { canFoldDecoderOnWebgpu } from '../../src/pipeline/session-options.ts';
import { chromiumBrowserPids, listProcesses, samplePeakRss } from './process-memory.ts';
import type { WorkerReply } from './bench.worker.ts';

const BACKENDS = ['wasm', 'webgpu'] as const;
type Backend = (typeof BACKENDS)[number];
const SMOKE_NOTE =
  'web-webgpu runs on the adapter Chromium offers; with these flags on a machine without a GPU that is SwiftShader ' +
  '(software WebGPU on the CPU), and then its numbers are a smoke test, not a GPU measurement.';

/** Serves the model folder at /bench-model/ with the isolation headers every response of the page needs. */
function modelFolder(dir: string): Plugin {
  const root = resolve(dir);
  return {
    name: 'bench-model',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent(req.url?.split('?')[0] ?? '');
        if (!path.startsWith('/bench-model/')) return next();
        const file = resolve(root, path.slice('/bench-model/'.length));
        if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          return res.end();
        }
        for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
        res.setHeader('Content-Length', statSync(file).size);
        createReadStream(file).pipe(res);
      });
    },
  };
}

function list(raw: string | undefined, fallback: string): string[] {
  return [...new Set((raw ?? fallback).split(',').map((item) => item.trim()))];
}

/**
 * One measurement in a Chromium of its own, so that its memory is this run's alone: the peak resident memory of its
 * processes (browser, GPU process, renderers: `peak_rss_mb`), sampled while the page runs.
 */
async function measureInBrowser(url: string): Promise<{ run: BenchRun; version: string }> {
  const before = chromiumBrowserPids(listProcesses());
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: CHROMIUM_FLAGS,
  });
  const after = listProcesses();
  // Playwright starts Chromium as this process's child (another Chromium started meanwhile is not).
  const ours = new Set(after.filter((p) => p.ppid === process.pid).map((p) => p.pid));
  const root = [...chromiumBrowserPids(after)].find((pid) => !before.has(pid) && ours.has(pid));
  const memory = root === undefined ? undefined : samplePeakRss(root);
  try {
    const page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') process.stderr.write(`  page: ${message.text()}\n`);
    });
    const loadStart = loadavg()[0]!;
    await page.goto(url);
    await page.waitForFunction(() => window.__benchResult !== undefined, undefined, { timeout: 0, polling: 1000 });
    const reply = (await page.evaluate(() => window.__benchResult)) as WorkerReply;
    if ('error' in reply) throw new Error(`the bench page failed: ${reply.error}`);
    // The page cannot read the load average: the driver's readings span the page's whole run (load, warm-up, run).
    const peak = memory?.stop() ?? null;
    const run = { ...reply.run, peak_rss_mb: peak, load_avg_start: loadStart, load_avg_end: loadavg()[0]! };
    return { run, version: browser.version() };
  } finally {
    memory?.stop();
    await browser.close();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), [
    'model',
    'images',
    'steps',
    'backends',
    'threads',
    'gpu-sampling',
    'graph-capture',
    'fold-weights',
    'gemm-kernel',
    'native',
    'repeat',
    'json',
    'port',
  ]);
  const model = args.values.get('model');
  if (!model) throw new UsageError('--model <dir> is required (a folder written by npm run export)');
  const { manifest } = openModelFolder(model);
  const backends = list(args.values.get('backends'), BACKENDS.join(','));
  for (const backend of backends)
    if (!(BACKENDS as readonly string[]).includes(backend))
      throw new UsageError(`--backends takes ${BACKENDS.join(', ')} (comma-separated); got "${backend}"`);
  const gpuSampling = onOff(args.values.get('gpu-sampling'), 'gpu-sampling');
  const graphCapture = onOff(args.values.get('graph-capture'), 'graph-capture');
  const foldWeights = onOff(args.values.get('fold-weights'), 'fold-weights');
  const gemmKernels = list(args.values.get('gemm-kernel'), 'fastest');
  for (const kernel of gemmKernels)
    if (!isGemmKernelRequest(kernel))
      throw new UsageError(`--gemm-kernel takes ${GEMM_KERNEL_REQUESTS.join(', ')} (comma-separated); got "${kernel}"`);
  const images = list(args.values.get('images'), '1').map(Number);
  if (images.some((n) => !Number.isInteger(n) || n < 1 || n > 16))
    throw new UsageError('--images takes whole numbers from 1 to 16, separated by commas');
  const steps = intArg(args, 'steps', 256, 1);
  const threads = intArg(args, 'threads', availableParallelism(), 1);
  const repeat = intArg(args, 'repeat', 1, 1);
  const native = args.values.get('native') ?? 'off';
  if (native !== 'on' && native !== 'off') throw new UsageError(`--native takes on or off; got "${native}"`);
  const port = intArg(args, 'port', 4302, 1);

  const loadStart = loadavg();
  const server = await createServer({
    configFile: join(import.meta.dirname, '..', '..', 'vite.config.ts'),
    plugins: [modelFolder(model)],
    server: { port, strictPort: true, host: '127.0.0.1' },
    logLevel: 'warn',
  });
  await server.listen();
  let chromiumVersion = 'unknown';
  try {
    // Only a q8 decoder that fits has weights to fold; unfolded, it runs step by step whatever --graph-capture says.
    const folds = (backend: Backend) =>
      backend === 'webgpu' && canFoldDecoderOnWebgpu(manifest) ? foldWeights : ['on'];
    const jobs = images.flatMap((n) =>
      (backends as Backend[]).flatMap((backend) =>
        (backend === 'webgpu' ? gpuSampling : ['on']).flatMap((sampling) =>
          folds(backend).flatMap((fold) =>
            (backend !== 'webgpu' ? ['on'] : fold === 'on' ? graphCapture : ['off']).flatMap((capture) =>
              (backend === 'wasm' ? gemmKernels : ['fastest']).map((gemmKernel) => ({
                n,
                backend,
                sampling,
                capture,
                fold,
                gemmKernel,
              })),
            ),
          ),
        ),
      ),
    );
    const samples = new Map(jobs.map((job) => [job, [] as BenchRun[]]));
    // As the page draws: its thread count, VQGAN previews on.
    const nativeJobs: ChildJob[] =
      native === 'on' ? images.map((n) => ({ model, runtime: 'node', images: n, threads, steps, previews: true })) : [];
    const nativeSamples = new Map(nativeJobs.map((job) => [job, [] as BenchRun[]]));
    const rounds: BenchRun[][] = [];
    for (let r = 0; r < repeat; r++) {
      rounds.push([]);
      for (const job of jobs) {
        const variant =
          (job.backend === 'webgpu' && job.sampling === 'off' ? ' (sampling from the whole logits)' : '') +
          (job.backend === 'webgpu' && job.capture === 'off' ? ' (decoder step by step)' : '') +
          (job.fold === 'off' ? ' (q8 weights dequantized every step)' : '') +
          (job.backend === 'wasm' && job.gemmKernel !== 'fastest' ? ` (GEMM kernel ${job.gemmKernel})` : '');
        process.stderr.write(`run ${r + 1}/${repeat}: ${job.backend}${variant}, ${job.n} image(s)\n`);
        const query = new URLSearchParams({
          backend: job.backend,
          images: String(job.n),
          steps: String(steps),
          threads: String(threads),
          gpuSampling: job.sampling,
          graphCapture: job.capture,
          foldWeights: job.fold,
          gemmKernel: job.gemmKernel,
        });
        const measured = await measureInBrowser(`http://127.0.0.1:${port}/bench/browser/bench.html?${query}`);
        chromiumVersion = measured.version;
        samples.get(job)!.push(measured.run);
        rounds[r]!.push(measured.run);
      }
      for (const job of nativeJobs) {
        process.stderr.write(`run ${r + 1}/${repeat}: native (onnxruntime-node), ${job.images} image(s)\n`);
        const run = runChild(job);
        nativeSamples.get(job)!.push(run);
        rounds[r]!.push(run);
      }
    }
    const pairs = pairRounds(rounds);
    const report: BenchReport = {
      model_id: manifest.modelId,
      dtype: manifest.dtype,
      steps,
      repeat,
      versions: { ...benchVersions(), chromium: chromiumVersion },
      cpu: { model: cpus()[0]?.model ?? 'unknown', cores: availableParallelism() },
      ...(backends.includes('webgpu') ? { machine_note: SMOKE_NOTE } : {}),
      load_average: { start: loadStart, end: loadavg() },
      date: new Date().toISOString(),
      runs: [
        ...jobs.map((job) => medianRun(samples.get(job)!)),
        ...nativeJobs.map((job) => medianRun(nativeSamples.get(job)!)),
      ],
      ...(pairs.length > 0 ? { paired_rounds: pairs } : {}),
    };
    console.log(formatReport(report));
    const json = args.values.get('json');
    if (json) {
      writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`wrote ${json}`);
    }
  } finally {
    await server.close();
  }
}

runCli(main);
