/**
 * npm run bench:torch -- --model <export dir> --checkpoint <flax checkpoint dir> [--images 1,9] [--steps 256]
 *   [--repeat 2] [--previews on|off] [--algorithms min-dalle,cached-cross] [--prompt "…"]
 *   [--python /usr/bin/python3] [--json <file>]
 * Seconds per image of bench/torch_baseline.py (PyTorch, fp32, threads = cores; `torch-min-dalle` is min-dalle's
 * algorithm as min-dalle computes it, `torch-cached-cross` the stronger baseline that computes the cross-attention
 * keys/values once) side by side with our web-wasm and node runtimes (`npm run bench`), on the export of that same
 * checkpoint. Each repeat runs each torch algorithm, then web and node, for every image count (interleaved, so a busy
 * machine slows all alike); the report keeps medians, the load average before each run, and the torch version and
 * threads. Ratios are against torch-min-dalle (the issue's baseline) when it ran.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPromptEncoder } from '../src/text/prompt-encoder.ts';
import { PAD_ID } from '../src/text/bpe-tokenizer.ts';
import { intArg, parseArgs, runCli, UsageError } from '../tools/cli-args.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { median } from './bench-report.ts';
import type { BenchReport, RunRuntime } from './bench-report.ts';

const ALGORITHMS = ['min-dalle', 'cached-cross'] as const;
type Algorithm = (typeof ALGORITHMS)[number];
type TorchRuntime = `torch-${Algorithm}`;
type Runtime = TorchRuntime | RunRuntime;
/** A whole generation: seconds per image are only comparable (and only reported by `npm run bench`) for these. */
const FULL_STEPS = 256;

interface Sample {
  readonly runtime: Runtime;
  readonly images: number;
  /** null for fewer steps than a whole generation. */
  readonly secondsPerImage: number | null;
  readonly stepMs: number;
  readonly loadAverage: number;
}

function run(command: string, args: readonly string[]): string {
  const child = spawnSync(command, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (child.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${child.status}`);
  return child.stdout;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), [
    'model',
    'checkpoint',
    'images',
    'steps',
    'repeat',
    'previews',
    'algorithms',
    'prompt',
    'python',
    'json',
  ]);
  const model = args.values.get('model');
  const checkpoint = args.values.get('checkpoint');
  if (!model || !checkpoint)
    throw new UsageError(
      '--model <export dir> and --checkpoint <the Flax checkpoint it was exported from> are required',
    );
  const images = (args.values.get('images') ?? '1,9').split(',').map(Number);
  if (images.some((n) => !Number.isInteger(n) || n < 1 || n > 16))
    throw new UsageError('--images takes whole numbers from 1 to 16, separated by commas');
  const steps = intArg(args, 'steps', 256, 1);
  const repeat = intArg(args, 'repeat', 2, 1);
  // Ours draw VQGAN previews as the app does unless `--previews off` (the PyTorch runs draw none).
  const previews = args.values.get('previews') ?? 'on';
  if (previews !== 'on' && previews !== 'off') throw new UsageError('--previews takes on or off');
  const algorithms = (args.values.get('algorithms') ?? ALGORITHMS.join(',')).split(',');
  if (algorithms.length === 0 || algorithms.some((a) => !(ALGORITHMS as readonly string[]).includes(a)))
    throw new UsageError(`--algorithms takes ${ALGORITHMS.join(' and/or ')}, separated by commas`);
  const torchRuntimes = (algorithms as Algorithm[]).map((a): TorchRuntime => `torch-${a}`);
  const runtimes: readonly Runtime[] = [...torchRuntimes, 'web-wasm', 'node'];
  const python = args.values.get('python') ?? '/usr/bin/python3';
  const prompt = args.values.get('prompt') ?? 'a red circle on a blue background';
  const encoded = (await loadPromptEncoder(openModelFolder(model))).encode(prompt, 0);
  const end = encoded.ids.indexOf(PAD_ID);
  const ids = end === -1 ? encoded.ids : encoded.ids.slice(0, end);
  const threads = availableParallelism();
  const scratch = mkdtempSync(join(tmpdir(), 'bench-torch-'));
  const samples: Sample[] = [];
  let torchVersion = '';
  let report: BenchReport | undefined;
  try {
    for (let r = 0; r < repeat; r++) {
      for (const n of images) {
        for (const algorithm of algorithms) {
          const load = loadavg()[0]!;
          const torchArgs = ['bench/torch_baseline.py', '--checkpoint', checkpoint, '--ids', ids.join(',')];
          const torch = JSON.parse(
            run(
              python,
              [...torchArgs, '--algorithm', algorithm, '--images', String(n)].concat([
                '--steps',
                String(steps),
                '--threads',
                String(threads),
              ]),
            ).trim(),
          ) as { torch: string; runs: { secondsPerImage: number; stepMsMedian: number }[] };
          torchVersion = torch.torch;
          const { secondsPerImage, stepMsMedian } = torch.runs[0]!;
          samples.push({
            runtime: `torch-${algorithm as Algorithm}`,
            images: n,
            secondsPerImage: steps === FULL_STEPS ? secondsPerImage : null,
            stepMs: stepMsMedian,
            loadAverage: load,
          });
          console.log(
            `torch ${algorithm}, ${n} image(s): ${stepMsMedian.toFixed(0)} ms/step (load ${load.toFixed(1)})`,
          );
        }
        const load = loadavg()[0]!;
        const json = join(scratch, 'bench.json');
        run(
          process.execPath,
          ['--import', 'tsx', 'bench/bench.ts', '--model', model, '--images', String(n)].concat([
            '--steps',
            String(steps),
            '--runtimes',
            'web,node',
            '--previews',
            previews,
            '--json',
            json,
          ]),
        );
        report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
        for (const run of report.runs) {
          const { runtime, seconds_per_image: secondsPerImage, step_ms_median: stepMs } = run;
          samples.push({ runtime, images: n, secondsPerImage, stepMs, loadAverage: load });
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const medianOf = (values: readonly (number | null)[]): number | null =>
    values.length > 0 && values.every((v) => v !== null) ? median(values) : null;
  const medians = images.flatMap((n) =>
    runtimes.map((runtime) => {
      const mine = samples.filter((s) => s.runtime === runtime && s.images === n);
      return {
        runtime,
        images: n,
        secondsPerImage: medianOf(mine.map((s) => s.secondsPerImage)),
        stepMs: medianOf(mine.map((s) => s.stepMs)),
      };
    }),
  );
  const summary = {
    model: report?.model_id,
    dtype: report?.dtype,
    steps,
    repeat,
    previews: previews === 'on',
    torch: { version: torchVersion, threads, algorithms },
    versions: report?.versions,
    date: new Date().toISOString(),
    medians,
    samples,
  };
  const baseline = torchRuntimes[0]!;
  for (const n of images) {
    const row = (rt: Runtime) => medians.find((m) => m.runtime === rt && m.images === n)!;
    const torch = row(baseline);
    const line = runtimes.map((rt) => {
      const { secondsPerImage, stepMs } = row(rt);
      const perImage = secondsPerImage === null ? '' : `, ${secondsPerImage.toFixed(2)} s/image`;
      const ratio =
        rt === baseline || stepMs === null || torch.stepMs === null
          ? ''
          : ` (${baseline} ÷ ${rt}: ${(torch.stepMs / stepMs).toFixed(2)}× per step${
              secondsPerImage === null || torch.secondsPerImage === null
                ? ''
                : `, ${(torch.secondsPerImage / secondsPerImage).toFixed(2)}× per image`
            })`;
      return `${rt} ${stepMs === null ? '–' : stepMs.toFixed(0)} ms/step${perImage}${ratio}`;
    });
    console.log(`${n} image(s), median of ${repeat}: ${line.join('; ')}`);
  }
  const out = args.values.get('json');
  if (out) writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
}

runCli(main);
