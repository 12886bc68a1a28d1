/**
 * npm run bench -- --model <dir> [--images 1,9] [--steps 256] [--runtimes web,web-ort,node] [--threads 1,2]
 *   [--repeat 3] [--json <file>]
 * Whole generations through the app's pipeline on onnxruntime-web's WASM backend (what the page runs
 * without WebGPU) and onnxruntime-node (native CPU), each run in a fresh process, configurations
 * interleaved (A, B, A, B) so a busy machine slows both alike; prints medians and ratios.
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
  const child = spawnSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, 'bench-child.ts'), JSON.stringify(job)],
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
        jobs.push({ model: options.model, runtime, images, threads, steps: options.steps, previews: options.previews });
  const loadStart = loadavg();
  const samples = new Map<ChildJob, BenchRun[]>(jobs.map((job) => [job, []]));
  for (let r = 0; r < options.repeat; r++) {
    for (const job of jobs) {
      process.stderr.write(
        `run ${r + 1}/${options.repeat}: ${job.runtime}, ${job.images} image(s), ${job.threads} thread(s)\n`,
      );
      const run = runChild(job);
      // Each run as it finishes: a long benchmark that fails later still leaves its measurements.
      process.stderr.write(`  ${JSON.stringify(run)}\n`);
      samples.get(job)!.push(run);
    }
  }
  const report: BenchReport = {
    model_id: manifest.modelId,
    dtype: manifest.dtype,
    steps: options.steps,
    repeat: options.repeat,
    previews: options.previews,
    versions: benchVersions(),
    cpu: { model: cpus()[0]?.model ?? 'unknown', cores: availableParallelism() },
    load_average: { start: loadStart, end: loadavg() },
    date: new Date().toISOString(),
    runs: jobs.map((job) => medianRun(samples.get(job)!)),
  };
  console.log(formatReport(report));
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${options.json}`);
  }
}

runCli(main);
