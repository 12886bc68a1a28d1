/**
 * npm run bench:clip -- [--images 4] [--runs 3] [--threads <n>]
 * What CLIP ranking costs per image next to what it ranks: the released VQGAN's decode of one
 * image and CLIP ViT-B/32 (openai/clip-vit-base-patch32's shapes) on the same image — Pillow-exact
 * preprocessing plus the vision tower — and the text tower, once per prompt. Both graphs are built
 * in memory with random weights of the real shapes (the cost does not depend on the values) and
 * run on onnxruntime-web's WASM backend in Node, what the page runs without WebGPU. Prints
 * milliseconds and the CLIP / VQGAN ratio; timings are noisy, the ratio is the figure to read.
 */
import * as ort from 'onnxruntime-web';
import { cpus } from 'node:os';
import { VQGAN_INPUTS, VQGAN_OUTPUTS } from '../src/model/graph-io.ts';
import { vqganGridSize } from '../src/model/config.ts';
import { parseClipImageSettings } from '../src/pipeline/clip/image-settings.ts';
import { preprocessClipImage } from '../src/pipeline/clip/preprocess.ts';
import { intArg, parseArgs, runCli } from '../tools/cli-args.ts';
import { buildClipTextGraph, buildClipVisionGraph } from '../tools/exporter/clip/clip-graphs.ts';
import { CLIP_B32_CONFIG, CLIP_PREPROCESSOR_CONFIG, randomClipParams } from '../tools/exporter/clip/export-clip.ts';
import { buildVqganGraph } from '../tools/exporter/graphs/vqgan.ts';
import { vqganLayout } from '../tools/exporter/layout.ts';
import { GraphBuilder } from '../tools/exporter/onnx/graph-builder.ts';
import type { ParamSource } from '../tools/exporter/params.ts';
import { PRESET_SHAPES } from '../tools/exporter/presets.ts';
import { fillNormal, streamSeed } from '../tools/exporter/prng.ts';

const VQGAN = PRESET_SHAPES.mini.vqgan;

/** Random VQGAN weights of the released shapes (scales near 1, small kernels), made on demand. */
function randomVqganParams(): ParamSource {
  const layout = vqganLayout(VQGAN);
  const tensor = (path: string): Float32Array => {
    const leaf = layout.get(path);
    if (!leaf) throw new Error(`no VQGAN tensor ${path}`);
    const out = new Float32Array(leaf.shape.reduce((a, b) => a * b, 1));
    const fanIn = leaf.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    return fillNormal(
      out,
      streamSeed(1, path),
      leaf.role === 'scale' ? 1 : 0,
      leaf.role === 'kernel' ? fanIn ** -0.5 : 0.02,
    );
  };
  return {
    shape: (path) => layout.get(path)!.shape,
    read: tensor,
    readLayer: () => {
      throw new Error('the VQGAN has no scanned layers');
    },
  };
}

async function session(name: string, build: (b: GraphBuilder) => void): Promise<ort.InferenceSession> {
  const builder = new GraphBuilder(name, null);
  build(builder);
  return ort.InferenceSession.create(builder.serialize(), { graphOptimizationLevel: 'all' });
}

/** Mean milliseconds of `runs` calls after one warm-up call. */
async function timed(runs: number, run: () => Promise<unknown>): Promise<number> {
  await run();
  const started = performance.now();
  for (let i = 0; i < runs; i++) await run();
  return (performance.now() - started) / runs;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['images', 'runs', 'threads']);
  const n = intArg(args, 'images', 4, 1);
  const runs = intArg(args, 'runs', 3, 1);
  ort.env.wasm.numThreads = intArg(args, 'threads', cpus().length, 1);
  const settings = parseClipImageSettings(CLIP_PREPROCESSOR_CONFIG);
  const clipParams = randomClipParams(1);

  const vqgan = await session('vqgan', (b) => buildVqganGraph(b, randomVqganParams(), VQGAN, 'fp32'));
  const grid = vqganGridSize(VQGAN);
  const codes = new ort.Tensor(
    'int64',
    BigInt64Array.from({ length: grid * grid }, (_, i) => BigInt((i * 37) % VQGAN.nEmbed)),
    [1, grid * grid],
  );
  let pixels: Float32Array<ArrayBufferLike> = new Float32Array(0);
  const vqganMs = await timed(runs, async () => {
    const out = await vqgan.run({ [VQGAN_INPUTS.codes]: codes });
    pixels = out[VQGAN_OUTPUTS.pixels]!.data as Float32Array;
  });
  await vqgan.release();

  const size = VQGAN.resolution;
  const rgba = new Uint8ClampedArray(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = (pixels[c * size * size + p]! + 1) * 127.5;
    rgba[p * 4 + 3] = 255;
  }
  const preprocessMs = await timed(runs, () => Promise.resolve(preprocessClipImage(rgba, size, size, settings)));

  const vision = await session('vision_model', (b) => buildClipVisionGraph(b, clipParams, CLIP_B32_CONFIG, 'fp32'));
  const plane = preprocessClipImage(rgba, size, size, settings);
  const batch = new Float32Array(n * plane.length);
  for (let i = 0; i < n; i++) batch.set(plane, i * plane.length);
  const pixelValues = new ort.Tensor('float32', batch, [n, 3, 224, 224]);
  const visionMs = (await timed(runs, () => vision.run({ pixel_values: pixelValues }))) / n;
  await vision.release();

  const text = await session('text_model', (b) => buildClipTextGraph(b, clipParams, CLIP_B32_CONFIG, 'fp32'));
  const ids = new ort.Tensor(
    'int64',
    BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i === 11 ? 49407 : 320 + i)),
    [1, 12],
  );
  const textMs = await timed(runs, () => text.run({ input_ids: ids }));
  await text.release();

  const clipMs = preprocessMs + visionMs;
  const row = (name: string, ms: number): string =>
    `${name.padEnd(36)}${ms.toFixed(1).padStart(10)}${(ms / vqganMs).toFixed(2).padStart(10)}×`;
  console.log(
    `onnxruntime-web WASM, ${ort.env.wasm.numThreads} thread(s), fp32, CLIP vision batch of ${n}, mean of ${runs} runs`,
  );
  console.log(`${''.padEnd(36)}${'ms'.padStart(10)}${'/ VQGAN'.padStart(11)}`);
  console.log(row('VQGAN decode, one 256×256 image', vqganMs));
  console.log(row('CLIP preprocessing, per image', preprocessMs));
  console.log(row('CLIP ViT-B/32 vision, per image', visionMs));
  console.log(row('CLIP per image (both)', clipMs));
  console.log(row('CLIP text, once per prompt', textMs));
}

runCli(main);
