/**
 * npm run bench -- --model <dir> [--steps 16] [--images 1]
 * Times the encoder, decoder steps and the VQGAN of one exported model on onnxruntime-web's WASM
 * backend (what the app runs without WebGPU) and on onnxruntime-node (native CPU, multi-threaded),
 * side by side in one process, and prints the ratios. Same graphs, same pipeline code.
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { cpus } from 'node:os';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import type { OrtApi } from '../src/pipeline/runtime.ts';
import { intArg, parseArgs, runCli, UsageError } from '../tools/cli-args.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';

interface Timing {
  encoderMs: number;
  stepMs: number;
  vqganMs: number;
}

async function time(ort: OrtApi, dir: string, steps: number, count: number, backend: 'wasm' | 'node'): Promise<Timing> {
  const source = openModelFolder(dir);
  const { engine, text, dispose } = await loadDalle(
    ort,
    source,
    backend === 'wasm' ? sessionOptionsFor('wasm', source.manifest) : () => ({}),
  );
  const prompt = text.encode('a photo of an astronaut riding a horse', 0);
  const empty = text.unconditional;
  const start = source.manifest.specialTokens.imageStart;
  // Warm-up run so one-time costs (allocations, kernel selection) are not counted.
  const warm = await engine.beginDecoding(prompt, empty, count);
  await warm.step(new Array<number>(count).fill(start));
  warm.dispose();
  let t = performance.now();
  const decoding = await engine.beginDecoding(prompt, empty, count);
  const encoderMs = performance.now() - t;
  t = performance.now();
  for (let s = 0; s < steps; s++) await decoding.step(new Array<number>(count).fill(s === 0 ? start : s));
  const stepMs = (performance.now() - t) / steps;
  decoding.dispose();
  const codes = Int32Array.from({ length: count * 256 }, (_, i) => (i * 37) % source.manifest.specialTokens.imageCodes);
  await engine.decodeImages(codes, count);
  t = performance.now();
  await engine.decodeImages(codes, count);
  const vqganMs = performance.now() - t;
  await dispose();
  return { encoderMs, stepMs, vqganMs };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['model', 'steps', 'images', 'threads']);
  const dir = args.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required');
  const steps = intArg(args, 'steps', 16, 1);
  const count = intArg(args, 'images', 1, 1);
  const threads = intArg(args, 'threads', cpus().length, 1);
  ortWeb.env.wasm.numThreads = threads;
  const web = await time(ortWeb, dir, steps, count, 'wasm');
  const native = await time(ortNode, dir, steps, count, 'node');
  const row = (name: string, a: number, b: number): string =>
    `${name.padEnd(22)}${a.toFixed(1).padStart(10)}${b.toFixed(1).padStart(10)}${(a / b).toFixed(2).padStart(8)}×`;
  console.log(`model ${dir}, ${count} image(s), ${steps} decoder steps, ${threads} WASM thread(s)`);
  console.log(`${''.padEnd(22)}${'web ms'.padStart(10)}${'node ms'.padStart(10)}   web/node`);
  console.log(row('encoder (2n rows)', web.encoderMs, native.encoderMs));
  console.log(row('decoder step', web.stepMs, native.stepMs));
  console.log(row('VQGAN', web.vqganMs, native.vqganMs));
  console.log(
    row(
      '256-step image (est.)',
      web.encoderMs + 256 * web.stepMs + web.vqganMs,
      native.encoderMs + 256 * native.stepMs + native.vqganMs,
    ),
  );
}

runCli(main);
