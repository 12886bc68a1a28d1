/**
 * npm run bench:profile-step -- --model <dir> [--runtime web|node] [--images 9] [--position 128] [--runs 5]
 *   [--threads 2]
 * Where one decoder step's time goes: the CPU runtimes' decoder graph (hostCacheFile; on WASM a q8
 * model's wasmHostCacheFile) run with ORT's per-op profiling at one position, summed per op type (and
 * attention MatMuls, those reading the cache, apart from the linear layers'). The wall time of `session.run`
 * minus ORT's own `model_run` is what happens outside the graph: on WASM mostly copying the inputs (the
 * `past.*` cache) into the heap.
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  cacheNames,
  crossAttentionNames,
  DECODER_INPUTS,
  DECODER_OUTPUTS,
  newSlotNames,
} from '../src/model/graph-io.ts';
import { createSession } from '../src/pipeline/runtime.ts';
import type { OrtApi, SessionOptions } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { cacheSlotsAt, int64 } from '../src/pipeline/decoder-run.ts';
import type { Feeds } from '../src/pipeline/decoder-run.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { runCli } from '../tools/cli-args.ts';
import { endProfiling, kernelEvents } from './ort-profile.ts';
import type { TraceEvent } from './ort-profile.ts';

/** onnxruntime-node writes its trace under a prefix; a fresh folder tells which file is this run's. */
const PROFILE_DIR = mkdtempSync(join(tmpdir(), 'profile-step-'));

/** A MatMul reading the self-attention cache: one of its inputs has the cache's slot axis. */
function isAttentionMatMul(event: TraceEvent, slots: number): boolean {
  const shapes = event.args?.input_type_shape ?? [];
  return shapes.some((shape) => Object.values(shape).some((dims) => dims.length === 4 && dims.includes(slots)));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      runtime: { type: 'string', default: 'web' },
      images: { type: 'string', default: '9' },
      position: { type: 'string', default: '128' },
      runs: { type: 'string', default: '5' },
      threads: { type: 'string', default: '2' },
    },
  });
  if (!values.model) throw new Error('--model <dir> is required');
  const source = openModelFolder(values.model);
  const web = values.runtime === 'web';
  const threads = Number(values.threads);
  const n = Number(values.images);
  const position = Number(values.position);
  const runs = Number(values.runs);
  const ort: OrtApi = web ? ortWeb : ortNode;
  if (web) ortWeb.env.wasm.numThreads = threads;
  const base: SessionOptions = web
    ? sessionOptionsFor('wasm', source.manifest, { ownKernels: false })('decoder')
    : { intraOpNumThreads: threads, interOpNumThreads: 1 };
  const session = await createSession(
    ort,
    source,
    'decoder',
    { ...base, enableProfiling: true, profileFilePrefix: join(PROFILE_DIR, 'step') },
    true,
  );
  const c = source.manifest.dalleBart;
  const heads = c.decoderHeads;
  const hd = c.dModel / heads;
  const T = c.maxTextLength;
  const zeros = (dims: number[]) => new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b)), dims);
  const feeds: Feeds = {
    [DECODER_INPUTS.inputIds]: int64(ort, new Array<number>(2 * n).fill(0), [2 * n]),
    [DECODER_INPUTS.position]: int64(ort, [position], []),
    [DECODER_INPUTS.attentionMask]: int64(ort, new Array<number>(2 * T).fill(1), [2, T]),
  };
  for (const { key, value } of crossAttentionNames(c)) {
    feeds[key] = zeros([2, heads, hd, T]);
    feeds[value] = zeros([2, heads, T, hd]);
  }
  // The host-cache file of newer exports takes only the slots allocated so far (HostCacheDecoder's growing cache).
  const firstPast = cacheNames(c, 'past')[0]!.key;
  const pastInput = session.inputMetadata.find((input) => input.name === firstPast);
  const growing = pastInput?.isTensor === true && typeof pastInput.shape[3] === 'string';
  const S = growing ? cacheSlotsAt(position, c.imageLength) : c.imageLength;
  const shapes = { key: [2 * n, heads, hd, S], value: [2 * n, heads, S, hd] };
  for (const { key, value } of cacheNames(c, 'past')) {
    feeds[key] = zeros([...shapes.key]);
    feeds[value] = zeros([...shapes.value]);
  }
  const fetches = [DECODER_OUTPUTS.logits, ...newSlotNames(c).flatMap(({ key, value }) => [key, value])];
  const wall: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    const start = performance.now();
    const out = await session.run(feeds, fetches);
    if (r >= 2) wall.push(performance.now() - start);
    for (const t of Object.values(out)) t.dispose();
  }
  const events = endProfiling(session, web, PROFILE_DIR);
  await session.release();
  const modelRuns = events.filter((e) => e.name === 'model_run').map((e) => e.dur / 1000);
  const inGraph = modelRuns.slice(2);
  const perType = new Map<string, number>();
  const kernels = kernelEvents(events);
  for (const e of kernels) {
    const op = e.args?.op_name ?? '?';
    const key =
      op === 'MatMul' || op === 'FusedMatMul'
        ? `${op} (${isAttentionMatMul(e, S) || /self/.test(e.name) ? 'attention' : 'linear'})`
        : op;
    perType.set(key, (perType.get(key) ?? 0) + e.dur / 1000);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const total = [...perType.values()].reduce((a, b) => a + b, 0);
  const allRuns = modelRuns.length;
  console.log(
    `${values.runtime}, ${n} image(s), position ${position} (${S} cache slots), ${threads} thread(s), load ${loadavg()[0]!.toFixed(2)}`,
  );
  console.log(
    `session.run wall median ${median(wall).toFixed(1)} ms; ORT model_run median ${median(inGraph).toFixed(1)} ms`,
  );
  console.log(`kernel time per run (all ${allRuns} runs averaged), ms and share:`);
  for (const [op, ms] of [...perType].sort((a, b) => b[1] - a[1]))
    console.log(`  ${op.padEnd(28)} ${(ms / allRuns).toFixed(1).padStart(8)}  ${((100 * ms) / total).toFixed(1)} %`);
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  process.exit(0);
}

runCli(main);
