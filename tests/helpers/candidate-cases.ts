/**
 * Logits for the sampling-candidate tests (tests/device-candidates.test.ts in Node, e2e/gpu-shaders.spec.ts on
 * WebGPU), and the shader's selection redone in float32 arithmetic on the CPU, to test the CPU half without a GPU.
 */
import { createRng } from '../../src/core/rng.ts';
import {
  BLOCK_HEADER,
  CANDIDATE_WORDS,
  NON_FINITE,
  OUT_OF_RANGE,
  blockWords,
  candidateLayout,
  orderKey,
} from '../../src/pipeline/device-candidates.ts';
import type { CandidateLayout } from '../../src/pipeline/device-candidates.ts';
import type { SamplingSettings } from '../../src/pipeline/sampler.ts';
import { DEFAULT_SAMPLING } from '../../src/pipeline/sampler.ts';

export interface CandidateCase {
  readonly name: string;
  readonly images: number;
  readonly vocab: number;
  readonly settings: SamplingSettings;
  /** [2·images, vocab]: cond rows, then uncond rows. */
  readonly logits: Float32Array;
  /** Whether the candidates must serve (else the step must fall back to the whole logits). */
  readonly serves: boolean;
}

/** Roughly normal logits (sum of uniforms), seeded, scaled: a model's spread of a few units. */
function randomLogits(rows: number, vocab: number, seed: number, spread: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: rows * vocab }, () => spread * (rng() + rng() + rng() - 1.5));
}

export function candidateCases(): CandidateCase[] {
  const ties = new Float32Array(2 * 65).fill(0.25);
  const withNaN = randomLogits(2, 65, 5, 3);
  withNaN[65 + 17] = NaN;
  // 60 codes one float32 step apart at the top (scale 1: their values are the cond logits exactly). The 50th and the
  // 58th (the threshold) differ by 8 steps of 5, less than the margin (2⁻²⁰ · 5, 10 steps): no certain top 50.
  const nearTies = randomLogits(2, 129, 6, 1);
  for (let j = 0; j < 60; j++) [nearTies[j], nearTies[129 + j]] = [5 + j * 2 ** -21, 5];
  // Logits near float32's limit: with a scale just above 1 the GPU's float32 value of code 13 stays finite where the
  // CPU's overflows to −Infinity; anything this large is out of range for the shader.
  const huge = new Float32Array(2 * 65).fill(-1e38);
  for (let j = 0; j < 13; j++) huge[j] = 1e38 + j * 1e33;
  huge[13] = -3.4028234663852886e38;
  huge.fill(0, 65);
  // The start token (the last column) is the largest logit of both rows, and is never drawn.
  const startTokenFirst = randomLogits(2, 65, 4, 8);
  startTokenFirst[64] = startTokenFirst[129] = 1000;
  return [
    {
      name: 'mini-sized, 9 images',
      images: 9,
      vocab: 16385,
      settings: DEFAULT_SAMPLING,
      serves: true,
      logits: randomLogits(18, 16385, 1, 4),
    },
    {
      name: 'top-k 256, top-p 0.9, temperature 0.7, scale 3',
      images: 2,
      vocab: 1025,
      settings: { conditionScale: 3, topK: 256, topP: 0.9, temperature: 0.7 },
      serves: true,
      logits: randomLogits(4, 1025, 2, 2),
    },
    {
      name: 'greedy, no super-conditioning, all negative',
      images: 3,
      vocab: 300,
      settings: { conditionScale: 1, topK: 1, topP: 1, temperature: 1 },
      serves: true,
      logits: randomLogits(6, 300, 3, 1).map((v) => v - 40),
    },
    {
      name: 'scale 0 (uncond only), the start token largest',
      images: 1,
      vocab: 65,
      settings: { ...DEFAULT_SAMPLING, conditionScale: 0, topK: 5 },
      serves: true,
      logits: startTokenFirst,
    },
    {
      name: 'logits near float32’s limit',
      images: 1,
      vocab: 65,
      settings: { ...DEFAULT_SAMPLING, conditionScale: 1 + 2 ** -24 - 2 ** -40, topK: 5 },
      serves: false,
      logits: huge,
    },
    {
      name: 'all codes tied',
      images: 1,
      vocab: 65,
      settings: { ...DEFAULT_SAMPLING, topK: 5 },
      serves: false,
      logits: ties,
    },
    {
      name: 'a NaN logit',
      images: 1,
      vocab: 65,
      settings: { ...DEFAULT_SAMPLING, topK: 5 },
      serves: false,
      logits: withNaN,
    },
    {
      name: 'near-ties at the cut',
      images: 1,
      vocab: 129,
      settings: { ...DEFAULT_SAMPLING, conditionScale: 1 },
      serves: false,
      logits: nearTies,
    },
  ];
}

/** The layout a case asks the shader for. */
export function layoutOf(c: CandidateCase): CandidateLayout {
  const layout = candidateLayout(c.images, c.vocab, c.vocab - 1, c.settings);
  if (!layout) throw new Error(`${c.name}: no device layout`);
  return layout;
}

const f32 = Math.fround;

/**
 * The shader's blocks for `logits`, computed as it does in float32 (candidates in code order). `noise`: each value
 * moved by up to that many float32 steps of the row's magnitude (seeded by `noiseSeed`), as a GPU that rounds
 * worse might.
 */
export function selectLikeTheShader(
  logits: Float32Array,
  layout: CandidateLayout,
  noise = 0,
  noiseSeed = 0,
): Uint32Array {
  const { images, vocab, codeCount, keep, capacity } = layout;
  const scale = f32(layout.conditionScale);
  const words = new Uint32Array(images * blockWords(layout));
  const floats = new Float32Array(words.buffer);
  for (let image = 0; image < images; image++) {
    const start = image * blockWords(layout);
    const [cond, uncond] = [image * vocab, (images + image) * vocab];
    let values = Array.from({ length: codeCount }, (_, j) => {
      const [c, u] = [logits[cond + j]!, logits[uncond + j]!];
      return f32(u + f32(scale * f32(c - u)));
    });
    let flags = 0;
    let magnitude = 0;
    values.forEach((v, j) => {
      const [c, u] = [logits[cond + j]!, logits[uncond + j]!];
      if (![c, u, v].every(Number.isFinite)) flags |= NON_FINITE;
      if (Math.max(Math.abs(c), Math.abs(u)) >= f32(layout.limit)) flags |= OUT_OF_RANGE;
      magnitude = Math.max(magnitude, f32(Math.abs(u) + f32(scale * f32(Math.abs(c) + Math.abs(u)))));
    });
    const rng = createRng(noiseSeed, image);
    const step = 2 ** (Math.floor(Math.log2(magnitude)) - 23);
    if (noise > 0) values = values.map((v) => f32(v + Math.round((2 * rng() - 1) * noise) * step));
    const keys = values.map(orderKey);
    const threshold = [...keys].sort((a, b) => b - a)[keep - 1]!;
    let count = 0;
    keys.forEach((key, j) => {
      if (key < threshold) return;
      if (count < capacity) {
        const at = start + BLOCK_HEADER + CANDIDATE_WORDS * count;
        words[at] = j;
        floats[at + 1] = logits[cond + j]!;
        floats[at + 2] = logits[uncond + j]!;
      }
      count++;
    });
    words.set([count, flags, threshold], start);
    floats[start + 3] = magnitude;
  }
  return words;
}
