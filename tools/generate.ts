/**
 * npm run generate -- --model <dir> --prompt "…" --seed <n> --images <k>
 *   [--top-k 50 --top-p 1 --temperature 1 --condition-scale 10] --out <dir>
 *   [--rank <CLIP folder> [--candidates <N ≥ k>]]
 * Writes image-0.png … and tokens.json (k arrays of 256 codes), replacing an earlier drawing in --out as a whole
 * (tools/node/drawing-output.ts), using the same pipeline as the app
 * (onnxruntime-web, WASM backend, in Node). With --rank it draws N candidates, scores them with
 * CLIP against the prompt as typed, writes the best k as image-0.png (best) … and scores.json
 * (every candidate's seed index, score and tokens, and which were shown).
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-web';
import { generateImages } from '../src/pipeline/generate-images.ts';
import { ownKernelsOnWasm, sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { wasmThreads } from '../src/worker/backend.ts';
import { checkSamplingSettings, DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import type { SamplingSettings } from '../src/pipeline/sampler.ts';
import { loadPromptEncoder } from '../src/text/prompt-encoder.ts';
import { PromptError } from '../src/text/prompt-checks.ts';
import type { PreparedPrompt } from '../src/text/prompt.ts';
import { intArg, numberArg, parseArgs, runCli, seedArg, UsageError } from './cli-args.ts';
import { openClipFolder, openModelFolder } from './node/model-folder.ts';
import { drawBestOf } from '../src/pipeline/best-of-n.ts';
import { loadClipRanker } from '../src/pipeline/clip/clip-ranker.ts';
import { writeDrawing } from './node/drawing-output.ts';
import { ensureOutputDir } from './node/output-dir.ts';
import { spawnNodeGemmHelper } from './node/gemm-helper.ts';
import { encodePng } from './node/png.ts';
import { nodeBatchSizes } from './node/node-batch.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';

const FLAGS = [
  'model',
  'prompt',
  'seed',
  'images',
  'top-k',
  'top-p',
  'temperature',
  'condition-scale',
  'out',
  'rank',
  'candidates',
];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), FLAGS);
  const modelDir = args.values.get('model');
  const out = args.values.get('out');
  const prompt = args.values.get('prompt');
  if (!modelDir || !out || prompt === undefined)
    throw new UsageError('--model <dir>, --prompt "…" and --out <dir> are required');
  const count = intArg(args, 'images', 1, 1);
  const seed = seedArg(args);
  const sampling: SamplingSettings = {
    topK: intArg(args, 'top-k', DEFAULT_SAMPLING.topK),
    topP: numberArg(args, 'top-p', DEFAULT_SAMPLING.topP),
    temperature: numberArg(args, 'temperature', DEFAULT_SAMPLING.temperature),
    conditionScale: numberArg(args, 'condition-scale', DEFAULT_SAMPLING.conditionScale),
  };
  const rankDir = args.values.get('rank');
  const candidates = intArg(args, 'candidates', count, 1);
  if (rankDir === undefined && args.values.has('candidates'))
    throw new UsageError('--candidates needs --rank <CLIP model folder> to choose the best of them');
  if (candidates < count) throw new UsageError(`--candidates (${candidates}) must be at least --images (${count})`);
  // The sampler's own rules, the CLIP folder and the output folder, checked before the model loads rather than after.
  checkSamplingSettings(sampling);
  const clip = rankDir === undefined ? undefined : openClipFolder(rankDir);
  const outDir = ensureOutputDir(out);

  const source = openModelFolder(modelDir);
  const { manifest } = source;
  const text = await loadPromptEncoder(source);
  let encoded: PreparedPrompt;
  try {
    encoded = text.encode(prompt, seed);
  } catch (error) {
    throw error instanceof PromptError ? new UsageError(error.message) : error;
  }
  if (encoded.ignoredText !== '')
    console.warn(`The prompt is longer than the model reads; ignored: "${encoded.ignoredText}"`);

  ort.env.wasm.numThreads = 1;
  // The encoder and decoder the page would pick on this machine (ownKernelsOnWasm by its WASM threads), so both draw
  // alike (our kernels give the same results on any number of threads).
  const pageThreads = wasmThreads(true, availableParallelism()).threads;
  const ownKernels = ownKernelsOnWasm(pageThreads, spawnNodeGemmHelper);
  const options = sessionOptionsFor('wasm', manifest, { ownKernels });
  const { engine, dispose } = await loadDalle(ort, source, options, { hostCacheGraph: true });
  const batch = nodeBatchSizes(manifest, true);
  const started = Date.now();
  const imageSize = manifest.vqgan.resolution;
  if (clip) {
    const ranker = await loadClipRanker(ort, clip, 'wasm');
    const ranked = await drawBestOf(
      engine,
      ranker,
      {
        prompt: encoded,
        unconditional: text.unconditional,
        candidates,
        shown: count,
        text: prompt,
        seed,
        sampling,
        batch,
      },
      {
        onProgress: ({ step, totalSteps }) =>
          void (step % 32 === 0 && process.stderr.write(`\rstep ${step}/${totalSteps}`)),
      },
    );
    process.stderr.write('\n');
    await Promise.all([dispose(), ranker.dispose()]);
    const scores = {
      ranker: { modelId: clip.manifest.modelId, dtype: clip.manifest.dtype, logitScale: clip.manifest.logitScale },
      prompt,
      seed,
      shown: ranked.best.map(({ index }) => index),
      candidates: ranked.candidates.map(({ index, score, tokens }) => ({ index, score, tokens: Array.from(tokens) })),
    };
    writeDrawing(
      outDir,
      new Map<string, Uint8Array | string>([
        ...ranked.best.map(({ image }, i) => [`image-${i}.png`, encodePng(image, imageSize, imageSize)] as const),
        ['scores.json', `${JSON.stringify(scores)}\n`],
      ]),
    );
    console.log(
      `wrote the best ${count} of ${candidates} image(s) and scores.json to ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return;
  }
  const result = await generateImages(
    engine,
    {
      prompt: encoded,
      unconditional: text.unconditional,
      count,
      seed,
      sampling,
      batch,
    },
    {
      onProgress: ({ step, totalSteps }) => {
        if (step % 32 === 0 || step === totalSteps) process.stderr.write(`\rstep ${step}/${totalSteps}`);
      },
    },
  );
  process.stderr.write('\n');
  await dispose();
  const tokens = result.tokens.map((codes) => Array.from(codes));
  writeDrawing(
    outDir,
    new Map<string, Uint8Array | string>([
      ...result.images.map((rgba, i) => [`image-${i}.png`, encodePng(rgba, imageSize, imageSize)] as const),
      ['tokens.json', `${JSON.stringify(tokens)}\n`],
    ]),
  );
  console.log(`wrote ${count} image(s) and tokens.json to ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

runCli(main);
