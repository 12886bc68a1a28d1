/**
 * One measurement in a fresh process (so peak memory and allocator state belong to that run alone):
 * `node --import tsx bench/bench-child.ts '<json>'`, the JSON a ChildJob. Prints one BenchRun as JSON on its last line.
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { loadavg } from 'node:os';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import type { SessionOptions } from '../src/pipeline/runtime.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { nodeBatchSizes } from '../tools/node/node-batch.ts';
import type { BenchRuntime } from './bench-args.ts';
import { measureGeneration } from './measure-generation.ts';

export interface ChildJob {
  readonly model: string;
  readonly runtime: BenchRuntime;
  readonly images: number;
  readonly threads: number;
  readonly steps: number;
  readonly previews: boolean;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as ChildJob;
  const source = openModelFolder(job.model);
  const web = job.runtime !== 'node';
  if (web) ortWeb.env.wasm.numThreads = job.threads;
  const native: SessionOptions = { intraOpNumThreads: job.threads, interOpNumThreads: 1 };
  const run = await measureGeneration({
    ort: web ? ortWeb : ortNode,
    source,
    sessionOptions: web
      ? sessionOptionsFor('wasm', source.manifest, {
          ownKernels: job.runtime === 'web-ort' ? false : { threads: job.threads, spawnHelper: spawnNodeGemmHelper },
        })
      : () => native,
    runtime: web ? 'web-wasm' : 'node',
    threads: job.threads,
    images: job.images,
    steps: job.steps,
    previews: job.previews,
    batch: nodeBatchSizes(source.manifest, web),
    log: (line) => process.stderr.write(`  ${line}\n`),
    loadAverage: () => loadavg()[0]!,
  });
  const peak = process.resourceUsage().maxRSS / 1024;
  const measured = { ...run, peak_rss_mb: Math.round(peak) };
  process.stdout.write(`${JSON.stringify(measured)}\n`);
  // onnxruntime-web's thread pool keeps Node alive.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
