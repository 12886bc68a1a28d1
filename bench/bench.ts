/**
 * npm run bench -- --model <dir> [--images 1,9] [--steps 256] [--runtimes web,web-ort,node,webgpu] [--threads 1,2]
 *   [--graph-capture on,off] [--repeat 3] [--json <file>]
 * Whole generations through the app's pipeline on onnxruntime-web's WASM backend (what the page runs
 * without WebGPU) and onnxruntime-node (native CPU), each run in a fresh process, configurations
 * interleaved (A, B, A, B) so a busy machine slows both alike; prints medians and ratios. `webgpu` measures
 * onnxruntime-web's WebGPU backend on Dawn in Node, for a machine with a GPU and no browser (needs the optional
 * `webgpu` package: tools/node/node-webgpu.ts).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { runCli } from '../tools/cli-args.ts';
import { parseBenchArgs } from './bench-args.ts';
import type { ChildJob } from './bench-child.ts';
import { formatReport, medianRun } from './bench-report.ts';
import type { BenchReport, BenchRun } from './bench-report.ts';
import { benchVersions } from './versions.ts';

function runChild(job: ChildJob): BenchRun {
  // The webgpu runtime's process imports onnxruntime-web's WebGPU bundle (tools/node/webgpu-preload.ts).
  const preload =
    job.runtime === 'webgpu' ? ['--import', join(import.meta.dirname, '../tools/node/webgpu-preload.ts')] : [];
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      ...preload,
      join(import.meta.dirname, 'bench-child.ts'),
      JSON.stringify(job),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const last = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !last.startsWith('{'))
    throw new Error(`benchmark run ${JSON.stringify(job)} failed (exit ${child.status ?? child.signal})`);
  return JSON.parse(last) as BenchRun;
}

function main(): void {
  const options = parseBenchArgs(process.argv.slice(2));
  const { manifest } = openModelFolder(options.model);
  const jobs: ChildJob[] = [];
  for (const images of options.images)
    for (const threads of options.threads)
      for (const runtime of options.runtimes)
        for (const graphCapture of runtime === 'webgpu' ? options.graphCapture : [undefined])
          jobs.push({
            model: options.model,
            runtime,
            images,
            threads,
            steps: options.steps,
            previews: options.previews,
            ...(graphCapture === undefined ? {} : { graphCapture }),
          });
  const loadStart = loadavg();
  const samples = new Map<ChildJob, BenchRun[]>(jobs.map((job) => [job, []]));
  for (let r = 0; r < options.repeat; r++) {
    for (const job of jobs) {
      const capture = job.graphCapture === false ? ', step by step' : '';
      process.stderr.write(
        `run ${r + 1}/${options.repeat}: ${job.runtime}${capture}, ${job.images} image(s), ${job.threads} thread(s)\n`,
      );
      const run = runChild(job);
      // Each run as it finishes: a long benchmark that fails later still leaves its measurements.
      process.stderr.write(`  ${JSON.stringify(run)}\n`);
      samples.get(job)!.push(run);
    }
  }
  const runs = jobs.map((job) => medianRun(samples.get(job)!));
  const adapters = [...new Set(runs.flatMap((run) => (run.adapter ? [run.adapter] : [])))];
  const report: BenchReport = {
    model_id: manifest.modelId,
    dtype: manifest.dtype,
    steps: options.steps,
    repeat: options.repeat,
    previews: options.previews,
    versions: benchVersions(),
    cpu: { model: cpus()[0]?.model ?? 'unknown', cores: availableParallelism() },
    load_average: { start: loadStart, end: loadavg() },
    ...(adapters.length > 0 ? { machine_note: `web-webgpu on Dawn in Node, adapter: ${adapters.join('; ')}` } : {}),
    date: new Date().toISOString(),
    runs,
  };
  console.log(formatReport(report));
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${options.json}`);
  }
}

runCli(main);
