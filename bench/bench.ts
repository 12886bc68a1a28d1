/**
 * npm run bench -- --model <dir> [--images 1,9] [--steps 256] [--runtimes web,web-ort,node,webgpu] [--threads 1,2]
 *   [--graph-capture on,off] [--repeat 3] [--json <file>]
 * Whole generations through the app's pipeline on onnxruntime-web's WASM backend (what the page runs
 * without WebGPU) and onnxruntime-node (native CPU), each run in a fresh process, configurations
 * interleaved (A, B, A, B) so a busy machine slows both alike; prints medians and ratios. `webgpu` measures
 * onnxruntime-web's WebGPU backend on Dawn in Node, for a machine with a GPU and no browser (needs the optional
 * `webgpu` package: tools/node/node-webgpu.ts).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { runCli } from '../tools/cli-args.ts';
import { parseBenchArgs } from './bench-args.ts';
import type { ChildJob } from './bench-child.ts';
import { formatReport, medianRun, pairRounds } from './bench-report.ts';
import { runChild } from './run-child.ts';
import type { BenchReport, BenchRun } from './bench-report.ts';
import { benchVersions } from './versions.ts';

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
  const rounds: BenchRun[][] = [];
  for (let r = 0; r < options.repeat; r++) {
    rounds.push([]);
    for (const job of jobs) {
      const capture = job.graphCapture === false ? ', step by step' : '';
      process.stderr.write(
        `run ${r + 1}/${options.repeat}: ${job.runtime}${capture}, ${job.images} image(s), ${job.threads} thread(s)\n`,
      );
      const run = runChild(job);
      // Each run as it finishes: a long benchmark that fails later still leaves its measurements.
      process.stderr.write(`  ${JSON.stringify(run)}\n`);
      samples.get(job)!.push(run);
      rounds[r]!.push(run);
    }
  }
  const pairs = pairRounds(rounds);
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
    ...(pairs.length > 0 ? { paired_rounds: pairs } : {}),
  };
  console.log(formatReport(report));
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`wrote ${options.json}`);
  }
}

runCli(main);
