/**
 * The error of a quantized export against fp32 of the same checkpoint, printed after `export`:
 *  - max |Δlogit| over the first decoder steps,
 *  - greedy-token agreement over all 256 steps (teacher-forced on the fp32 greedy tokens, so one
 *    early disagreement does not hide the rest),
 *  - the mean total variation distance between the two models' sampling distributions (top-k 50, temperature 1)
 *    over those steps: how often, at most, coupled draws from them would pick different codes,
 *  - PSNR of the VQGAN output for the fp32 tokens.
 * Runs both models through the same `DalleEngine`: fp32 and the quantized model's full decoder (what WebGPU runs) on
 * onnxruntime-node (CPU), or the quantized model's host-cache decoder on onnxruntime-web's WASM backend, as the app
 * and the CLI run it (for q8 with int8 activations, docs/model-format.md#int8-activations: onnxruntime-node's AVX2
 * kernels may saturate those integer products, WASM's compute them exactly).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import type { ModelSource } from '../../src/model/model-source.ts';
import { DalleEngine } from '../../src/pipeline/engine.ts';
import { DEFAULT_SAMPLING, superCondition, topKIndices } from '../../src/pipeline/sampler.ts';
import { loadPromptEncoder } from '../../src/text/prompt-encoder.ts';
import { openModelFolder } from '../node/model-folder.ts';
import { markStaging, stagingPath } from '../node/staging.ts';
import { exportModel } from './export-model.ts';
import { loadDalle } from '../../src/pipeline/load-dalle.ts';
import type { LoadedDalle } from '../../src/pipeline/load-dalle.ts';
import { sessionOptionsFor } from '../../src/pipeline/session-options.ts';

export interface QuantizationReport {
  readonly dtype: string;
  /**
   * Which of the quantized model's decoders was measured: its full graph, its host-cache graph on WASM, or the
   * host-cache step on our own WebAssembly kernels (SessionOptions.ownKernels; the encoder on them too).
   */
  readonly decoder: 'full' | 'host-cache' | 'own-kernels';
  readonly firstSteps: number;
  readonly maxLogitError: number;
  readonly logitScale: number;
  readonly agreement: number;
  /** Mean over the steps of the total variation distance between the top-k sampling distributions, 0 … 1. */
  readonly samplingDistance: number;
  readonly steps: number;
  readonly psnr: number;
  readonly prompt: string;
}

const PROMPT = 'a photo of an astronaut riding a horse';
const DECODER_LABELS: Record<QuantizationReport['decoder'], string> = {
  full: 'decoder (onnxruntime-node CPU)',
  'host-cache': 'host-cache decoder (onnxruntime-web WASM, as the app runs it)',
  'own-kernels': 'encoder and host-cache decoder step on our own WebAssembly kernels',
};
const FIRST_STEPS = 8;
const CONDITION_SCALE = 10;
const TOP_K = DEFAULT_SAMPLING.topK;

function loadFor(source: ModelSource, decoder: QuantizationReport['decoder'] = 'full'): Promise<LoadedDalle> {
  if (decoder === 'full') return loadDalle(ortNode, source);
  const options = sessionOptionsFor('wasm', source.manifest, { ownKernels: decoder === 'own-kernels' ? {} : false });
  return loadDalle(ortWeb, source, options, { hostCacheGraph: true });
}

function argmax(values: Float32Array): number {
  return topKIndices(values, 1)[0]!;
}

/** softmax over the k largest logits (temperature 1), as code → probability. */
function topKDistribution(logits: Float32Array, k: number): Map<number, number> {
  const codes = topKIndices(logits, Math.min(k, logits.length));
  const max = logits[codes[0]!]!;
  const weights = Array.from(codes, (code) => Math.exp(logits[code]! - max));
  const total = weights.reduce((sum, w) => sum + w, 0);
  return new Map(Array.from(codes, (code, i) => [code, weights[i]! / total]));
}

/** Half the L1 distance: the least probability with which coupled draws from p and q differ. */
function totalVariation(p: Map<number, number>, q: Map<number, number>): number {
  let sum = 0;
  for (const [code, pi] of p) sum += Math.abs(pi - (q.get(code) ?? 0));
  for (const [code, qi] of q) if (!p.has(code)) sum += qi;
  return sum / 2;
}

function psnr(a: Float32Array, b: Float32Array): number {
  let mse = 0;
  const clip = (v: number): number => Math.min(1, Math.max(0, v));
  for (let i = 0; i < a.length; i++) mse += (clip(a[i]!) - clip(b[i]!)) ** 2;
  mse /= a.length;
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

export async function measureQuantizationError(
  fp32Dir: string,
  quantizedDir: string,
  prompt = PROMPT,
  decoder: QuantizationReport['decoder'] = 'full',
): Promise<QuantizationReport> {
  const quantizedSource = openModelFolder(quantizedDir);
  const loaded = [await loadFor(openModelFolder(fp32Dir)), await loadFor(quantizedSource, decoder)];
  try {
    return await compare(loaded[0]!.engine, loaded[1]!.engine, quantizedSource, prompt, decoder);
  } finally {
    await Promise.all(loaded.map((l) => l.dispose()));
  }
}

async function compare(
  reference: DalleEngine,
  quantized: DalleEngine,
  quantizedSource: ModelSource,
  prompt: string,
  decoder: QuantizationReport['decoder'],
): Promise<QuantizationReport> {
  const { manifest } = quantizedSource;
  const text = await loadPromptEncoder(quantizedSource);
  const encoded = text.encode(prompt, 0);
  const empty = text.unconditional;
  const vocab = manifest.dalleBart.imageVocabSize + 1;
  const codeCount = manifest.specialTokens.imageCodes;
  const S = manifest.dalleBart.imageLength;

  const a = await reference.beginDecoding(encoded, empty, 1);
  const b = await quantized.beginDecoding(encoded, empty, 1);
  const tokens = new Int32Array(S);
  let previous = manifest.specialTokens.imageStart;
  let maxLogitError = 0;
  let logitScale = 0;
  let agreement = 0;
  let distance = 0;
  for (let step = 0; step < S; step++) {
    const [la, lb] = [await a.step([previous]), await b.step([previous])];
    if (step < FIRST_STEPS) {
      for (let i = 0; i < la.length; i++) {
        maxLogitError = Math.max(maxLogitError, Math.abs(la[i]! - lb[i]!));
        logitScale = Math.max(logitScale, Math.abs(la[i]!));
      }
    }
    const ca = superCondition(la, 1, vocab, codeCount, CONDITION_SCALE);
    const cb = superCondition(lb, 1, vocab, codeCount, CONDITION_SCALE);
    const [ta, tb] = [argmax(ca), argmax(cb)];
    if (ta === tb) agreement++;
    distance += totalVariation(topKDistribution(ca, TOP_K), topKDistribution(cb, TOP_K));
    tokens[step] = ta;
    previous = ta;
  }
  a.dispose();
  b.dispose();
  const psnrDb = psnr(await reference.decodeImages(tokens, 1), await quantized.decodeImages(tokens, 1));
  return {
    dtype: manifest.dtype,
    decoder,
    firstSteps: FIRST_STEPS,
    maxLogitError,
    logitScale,
    agreement,
    samplingDistance: distance / S,
    steps: S,
    psnr: psnrDb,
    prompt,
  };
}

export function formatQuantizationReport(r: QuantizationReport): string {
  return [
    `error report, ${r.dtype} ${DECODER_LABELS[r.decoder]} vs fp32, prompt "${r.prompt}", condition scale ${CONDITION_SCALE}:`,
    `  max |Δlogit| over the first ${r.firstSteps} decoder steps: ${r.maxLogitError.toPrecision(3)} (largest |logit| ${r.logitScale.toPrecision(3)})`,
    `  greedy-token agreement, ${r.steps} teacher-forced steps: ${r.agreement}/${r.steps} (${((100 * r.agreement) / r.steps).toFixed(1)} %)`,
    `  sampling distributions (top-k ${TOP_K}, temperature 1), mean total variation: ${(100 * r.samplingDistance).toFixed(2)} %`,
    `  VQGAN PSNR on the fp32 tokens: ${r.psnr.toFixed(1)} dB`,
  ].join('\n');
}

/**
 * Exports fp32 of the same checkpoints into the cache, measures, prints, and removes it. The folder
 * is named as a staging folder, so one left by a killed run is swept like the others.
 */
export async function printQuantizationReport(options: {
  dalleDir: string;
  vqganDir: string;
  quantizedDir: string;
  cacheDir: string;
}): Promise<QuantizationReport> {
  const fp32Dir = stagingPath(join(options.cacheDir, 'report-fp32'));
  try {
    exportModel({ dalleDir: options.dalleDir, vqganDir: options.vqganDir, outDir: fp32Dir, dtype: 'fp32' });
    // Swept like a staging folder if this run is killed before the finally below.
    markStaging(fp32Dir);
    const report = await measureQuantizationError(fp32Dir, options.quantizedDir);
    console.log(formatQuantizationReport(report));
    // WASM's decoder multiplies with int8 activations: its own error, next to the full decoder's.
    if (openModelFolder(options.quantizedDir).manifest.graphs.decoder.wasmHostCacheFile !== undefined)
      console.log(
        formatQuantizationReport(await measureQuantizationError(fp32Dir, options.quantizedDir, PROMPT, 'host-cache')),
      );
    return report;
  } finally {
    rmSync(fp32Dir, { recursive: true, force: true });
  }
}
