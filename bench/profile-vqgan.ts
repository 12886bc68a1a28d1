/**
 * npm run bench:profile-vqgan -- --model <dir> [--runtime web|node] [--images 1] [--runs 2] [--threads 2]
 *   [--graph <file.onnx>] [--top 25]
 * Where a VQGAN decode's time goes: the graph each runtime loads (on WASM the Winograd file when the
 * model has one, natively `vqgan.onnx`) run with ORT's per-op profiling, summed per op type and per op
 * and output shape. `--graph` profiles another VQGAN graph over the model's weights instead (a variant
 * under study; an `.onnx_data` beside it is used in place of the model's).
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { vqganGridSize } from '../src/model/config.ts';
import { VQGAN_INPUTS, VQGAN_OUTPUTS } from '../src/model/graph-io.ts';
import { createSession } from '../src/pipeline/runtime.ts';
import type { OrtApi, Session, SessionOptions } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import type { ModelSource } from '../src/model/model-source.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { runCli } from '../tools/cli-args.ts';
import { endProfiling, kernelEvents } from './ort-profile.ts';

const PROFILE_DIR = mkdtempSync(join(tmpdir(), 'profile-vqgan-'));

async function openSession(
  ort: OrtApi,
  source: ModelSource,
  options: SessionOptions,
  graph?: string,
): Promise<Session> {
  if (graph === undefined) return createSession(ort, source, 'vqgan', options);
  const externalData = await Promise.all(
    source.manifest.graphs.vqgan.externalData.map(async (path) => {
      const beside = join(dirname(graph), path);
      return { path, data: existsSync(beside) ? readFileSync(beside) : await source.readFile(path) };
    }),
  );
  return ort.InferenceSession.create(readFileSync(graph), { ...options, externalData });
}

function printShares(title: string, times: Map<string, number>, total: number, top: number): void {
  console.log(title);
  for (const [key, ms] of [...times].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`  ${key.padEnd(44)} ${ms.toFixed(1).padStart(8)}  ${((100 * ms) / total).toFixed(1)} %`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      runtime: { type: 'string', default: 'web' },
      images: { type: 'string', default: '1' },
      runs: { type: 'string', default: '2' },
      threads: { type: 'string', default: '2' },
      graph: { type: 'string' },
      top: { type: 'string', default: '25' },
    },
  });
  if (!values.model) throw new Error('--model <dir> is required');
  const source = openModelFolder(values.model);
  const web = values.runtime === 'web';
  const threads = Number(values.threads);
  const n = Number(values.images);
  const runs = Number(values.runs);
  const ort: OrtApi = web ? ortWeb : ortNode;
  if (web) ortWeb.env.wasm.numThreads = threads;
  const base: SessionOptions = web
    ? sessionOptionsFor('wasm', source.manifest)('vqgan')
    : { intraOpNumThreads: threads, interOpNumThreads: 1 };
  const profiling = { ...base, enableProfiling: true, profileFilePrefix: join(PROFILE_DIR, 'vqgan') };
  const session = await openSession(ort, source, profiling, values.graph);
  const codeCount = source.manifest.vqgan.nEmbed;
  const grid = vqganGridSize(source.manifest.vqgan);
  const codes = Array.from({ length: n * grid * grid }, (_, i) => BigInt((i * 7919) % codeCount));
  const feeds = { [VQGAN_INPUTS.codes]: new ort.Tensor('int64', BigInt64Array.from(codes), [n, grid * grid]) };
  const wall: number[] = [];
  // One warm-up run, then `runs` timed ones; the kernel times average over all of them.
  for (let r = 0; r <= runs; r++) {
    const start = performance.now();
    const out = await session.run(feeds, [VQGAN_OUTPUTS.pixels]);
    if (r > 0) wall.push(performance.now() - start);
    for (const t of Object.values(out)) t.dispose();
  }
  const events = endProfiling(session, web, PROFILE_DIR);
  await session.release();
  const allRuns = events.filter((e) => e.name === 'model_run').length;
  const perType = new Map<string, number>();
  const perShape = new Map<string, number>();
  for (const e of kernelEvents(events)) {
    const op = e.args?.op_name ?? '?';
    const shape = Object.values(e.args?.output_type_shape?.[0] ?? {})[0] ?? [];
    perType.set(op, (perType.get(op) ?? 0) + e.dur / 1000 / allRuns);
    const key = `${op} [${shape.join(',')}]`;
    perShape.set(key, (perShape.get(key) ?? 0) + e.dur / 1000 / allRuns);
  }
  const total = [...perType.values()].reduce((a, b) => a + b, 0);
  console.log(
    `${values.runtime}, ${values.graph ?? 'the model’s graph'}, ${n} image(s), ${threads} thread(s), ` +
      `load ${loadavg()[0]!.toFixed(2)}: session.run ${wall.map((w) => w.toFixed(0)).join(', ')} ms; ` +
      `kernels ${total.toFixed(0)} ms per run`,
  );
  printShares('per op type, ms per run and share:', perType, total, Infinity);
  printShares('per op and output shape:', perShape, total, Number(values.top));
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  process.exit(0);
}

runCli(main);
