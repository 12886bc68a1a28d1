/**
 * npm run bench:own-vqgan -- --model <dir> [--images 1] [--rounds 3] [--threads 1]
 * Whole VQGAN decodes, the same threads each, rounds interleaved: our float kernels (src/kernels/vqgan-decoder.ts,
 * weights read from the folder's `vqgan.onnx`) against onnxruntime-web's WASM backend on the file it loads there
 * (`vqgan_winograd.onnx`) and onnxruntime-node on `vqgan.onnx`; prints each round, the medians, their ratios, and
 * the PSNR of our pixels against ONNX Runtime WASM's. docs/performance.md#the-vqgan-on-our-kernels.
 */
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { loadavg } from 'node:os';
import { vqganGridSize } from '../src/model/config.ts';
import { VQGAN_INPUTS, VQGAN_OUTPUTS } from '../src/model/graph-io.ts';
import { readInitializers } from '../src/model/onnx-initializers.ts';
import { OwnVqgan } from '../src/kernels/vqgan-decoder.ts';
import { vqganTensorsFromOnnx } from '../src/kernels/vqgan-tensors.ts';
import { createSession } from '../src/pipeline/runtime.ts';
import type { OrtApi, Session } from '../src/pipeline/runtime.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { spawnNodeGemmHelper } from '../tools/node/gemm-helper.ts';
import { intArg, parseArgs, runCli, UsageError } from '../tools/cli-args.ts';
import { median } from './bench-report.ts';
import { psnr } from '../tools/image-psnr.ts';

async function ortDecode(ort: OrtApi, session: Session, codes: BigInt64Array, images: number, grid: number) {
  const feeds = { [VQGAN_INPUTS.codes]: new ort.Tensor('int64', codes, [images, grid * grid]) };
  const out = await session.run(feeds, [VQGAN_OUTPUTS.pixels]);
  const pixels = out[VQGAN_OUTPUTS.pixels]!.data as Float32Array;
  for (const t of Object.values(out)) t.dispose();
  return pixels;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['model', 'images', 'rounds', 'threads']);
  const model = args.values.get('model');
  if (!model) throw new UsageError('--model <dir> is required (a folder written by npm run export)');
  const images = intArg(args, 'images', 1, 1);
  const rounds = intArg(args, 'rounds', 3, 1);
  const threads = intArg(args, 'threads', 1, 1);
  const source = openModelFolder(model);
  const { manifest } = source;
  const grid = vqganGridSize(manifest.vqgan);
  const codes = BigInt64Array.from({ length: images * grid * grid }, (_, i) =>
    BigInt((i * 7919) % manifest.vqgan.nEmbed),
  );

  const started = performance.now();
  const entry = manifest.graphs.vqgan;
  const externalData = await Promise.all(
    entry.externalData.map(async (path) => ({ path, data: await source.readFile(path) })),
  );
  const own = await OwnVqgan.create(
    manifest.vqgan,
    vqganTensorsFromOnnx(readInitializers(await source.readFile(entry.file), externalData)),
    { threads, spawnHelper: spawnNodeGemmHelper },
  );
  const mib = () => `${(own.memoryBytes / 2 ** 20).toFixed(0)} MiB`;
  const built = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`our VQGAN built in ${built} s on ${own.threadCount} thread(s), holding ${mib()}`);
  ortWeb.env.wasm.numThreads = threads;
  const web = await createSession(ortWeb, source, 'vqgan', sessionOptionsFor('wasm', manifest)('vqgan'));
  const node = await createSession(ortNode, source, 'vqgan', { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const runners: [string, () => Promise<Float32Array>][] = [
    ['ours', () => Promise.resolve(own.decode(codes, images))],
    ['web-wasm', () => ortDecode(ortWeb, web, codes, images, grid)],
    ['node', () => ortDecode(ortNode, node, codes, images, grid)],
  ];
  const times = new Map(runners.map(([name]) => [name, [] as number[]]));
  const last = new Map<string, Float32Array>();
  console.log(`${manifest.modelId}, ${images} image(s), ${threads} thread(s), load ${loadavg()[0]!.toFixed(2)}`);
  // One warm-up decode each, then the rounds.
  for (const [, run] of runners) await run();
  for (let r = 0; r < rounds; r++) {
    const line: string[] = [];
    for (const [name, run] of runners) {
      const start = performance.now();
      last.set(name, await run());
      const ms = performance.now() - start;
      times.get(name)!.push(ms);
      line.push(`${name} ${(ms / images).toFixed(0)}`);
    }
    console.log(`round ${r + 1}: ${line.join(', ')} ms per image (load ${loadavg()[0]!.toFixed(2)})`);
  }
  const perImage = (name: string) => median(times.get(name)!) / images;
  const [ours, wasm, native] = [perImage('ours'), perImage('web-wasm'), perImage('node')];
  console.log(`median ms per image: ours ${ours.toFixed(0)}, web-wasm ${wasm.toFixed(0)}, node ${native.toFixed(0)}`);
  console.log(`ours / web-wasm ${(ours / wasm).toFixed(2)}×, ours / node ${(ours / native).toFixed(2)}×`);
  console.log(`PSNR of ours against web-wasm: ${psnr(last.get('ours')!, last.get('web-wasm')!).toFixed(1)} dB`);
  console.log(`our VQGAN holds ${mib()} after the decodes`);
  await Promise.all([web.release(), node.release(), own.release()]);
  process.exit(0);
}

runCli(main);
