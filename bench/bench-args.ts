/**
 * The benchmark's command line: `--model <dir> [--images 1,9] [--steps 256] [--runtimes web,node]
 * [--threads 1,2] [--repeat 1] [--previews on|off] [--graph-capture on,off]
 * [--json <file>]`. Pure, so its rules have a fast unit test.
 */
import { availableParallelism } from 'node:os';
import { intArg, parseArgs, UsageError } from '../tools/cli-args.ts';
import type { ParsedArgs } from '../tools/cli-args.ts';

/**
 * `web`: onnxruntime-web's WASM backend in Node (what the page runs without WebGPU; a q8 decoder on our own kernels);
 * `web-ort`: the same with a q8 decoder on ONNX Runtime's WASM backend too; `node`: onnxruntime-node, native CPU;
 * `webgpu`: onnxruntime-web's WebGPU backend with the app's WebGPU options, on Dawn in Node (tools/node/node-webgpu.ts:
 * for a machine with a GPU and no browser; Chromium's is `npm run bench:browser`).
 */
export const BENCH_RUNTIMES = ['web', 'web-ort', 'node', 'webgpu'] as const;
export type BenchRuntime = (typeof BENCH_RUNTIMES)[number];

export interface BenchOptions {
  readonly model: string;
  readonly images: readonly number[];
  /** Decoder steps per generation; fewer than the model's image length times steps only (no full generation). */
  readonly steps: number;
  readonly runtimes: readonly BenchRuntime[];
  readonly threads: readonly number[];
  /** Every configuration runs this many times, interleaved (A, B, A, B); the report keeps medians. */
  readonly repeat: number;
  /**
   * VQGAN previews mid-drawing as the app decodes them (on, the default: seconds per image are what a visitor waits),
   * or none (off: the generation alone, as min-dalle draws; no mosaic previews either).
   */
  readonly previews: boolean;
  /** WebGPU: the decoder captured and replayed (true: the app's way where the model allows), step by step, or both. */
  readonly graphCapture: readonly boolean[];
  readonly json?: string;
}

function intList(args: ParsedArgs, flag: string, fallback: readonly number[], min: number, max: number): number[] {
  const raw = args.values.get(flag);
  if (raw === undefined) return [...fallback];
  const items = raw.split(',').map((item) => item.trim());
  const values = items.map((item) => (/^[0-9]+$/.test(item) ? Number(item) : NaN));
  if (items.length === 0 || values.some((v) => !Number.isSafeInteger(v) || v < min || v > max))
    throw new UsageError(`--${flag} takes whole numbers from ${min} to ${max}, separated by commas; got "${raw}"`);
  return [...new Set(values)];
}

/** A choice's values, `on` by default (as in the app): on, off or both, comma-separated (both benchmarks' flags). */
export function onOff(raw: string | undefined, flag: string): ('on' | 'off')[] {
  const values = [...new Set((raw ?? 'on').split(',').map((item) => item.trim()))];
  if (values.some((value) => value !== 'on' && value !== 'off'))
    throw new UsageError(`--${flag} takes on, off or both (comma-separated); got "${values.join(',')}"`);
  return values as ('on' | 'off')[];
}

export function parseBenchArgs(argv: readonly string[], cores = availableParallelism()): BenchOptions {
  const args = parseArgs(argv, [
    'model',
    'images',
    'steps',
    'runtimes',
    'threads',
    'repeat',
    'previews',
    'graph-capture',
    'json',
  ]);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument "${args.positional[0]}"`);
  const model = args.values.get('model');
  if (!model) throw new UsageError('--model <dir> is required (a folder written by npm run export)');
  const runtimesRaw = args.values.get('runtimes') ?? 'web,node';
  const runtimes = [...new Set(runtimesRaw.split(',').map((r) => r.trim()))];
  for (const runtime of runtimes) {
    if (!(BENCH_RUNTIMES as readonly string[]).includes(runtime))
      throw new UsageError(`--runtimes takes ${BENCH_RUNTIMES.join(', ')} (comma-separated); got "${runtime}"`);
  }
  const previews = args.values.get('previews') ?? 'on';
  if (previews !== 'on' && previews !== 'off') throw new UsageError(`--previews takes on or off; got "${previews}"`);
  const json = args.values.get('json');
  return {
    model,
    images: intList(args, 'images', [1], 1, 16),
    steps: intArg(args, 'steps', 256, 1),
    runtimes: runtimes as BenchRuntime[],
    threads: intList(args, 'threads', [cores], 1, 64),
    repeat: intArg(args, 'repeat', 1, 1),
    previews: previews === 'on',
    graphCapture: onOff(args.values.get('graph-capture'), 'graph-capture').map((value) => value === 'on'),
    ...(json === undefined ? {} : { json }),
  };
}
