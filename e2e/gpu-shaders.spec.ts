/**
 * The sampling shader (src/worker/gpu-candidates.ts) on WebGPU (SwiftShader here): for every case of
 * tests/helpers/candidate-cases.ts its candidates give each image the code the CPU sampler draws from the whole
 * logits, or, where they cannot decide (ties, near-ties at the cut, NaN), send the step back to the CPU; and they
 * are the candidates float32 arithmetic picks. The KV cache slot shader writes its slot alone. The decoder captured
 * and replayed by ONNX Runtime decodes like WASM.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { build, defaultClientConditions } from 'vite';
import type { Rollup } from 'vite';
import { createRng } from '../src/core/rng.ts';
import {
  BLOCK_HEADER,
  CANDIDATE_WORDS,
  blockWords,
  sampleNextTokensOnDevice,
} from '../src/pipeline/device-candidates.ts';
import type { Tensor } from '../src/pipeline/runtime.ts';
import { sampleNextTokens } from '../src/pipeline/sampler.ts';
import { candidateCases, layoutOf, selectLikeTheShader } from '../tests/helpers/candidate-cases.ts';
import { demoModel } from '../tests/helpers/fixtures.ts';

/** e2e/gpu-shaders-page.ts as one script (the production build has no page for it). */
async function pageScript(): Promise<string> {
  const output = (await build({
    configFile: false,
    logLevel: 'silent',
    // ORT's entry without its .wasm, as the app builds it (vite.config.ts): a library build inlines every asset, and
    // the default entry's two references to its 28 MB .wasm made this script 77 MB, about a minute per test to hand
    // to the page. The page takes the .wasm from the preview server (`wasmPaths`).
    resolve: { conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions] },
    build: {
      write: false,
      minify: false,
      lib: { entry: fileURLToPath(new URL('gpu-shaders-page.ts', import.meta.url)), formats: ['iife'], name: 'gpu' },
    },
  })) as Rollup.RollupOutput[];
  return output[0]!.output[0].code;
}

/** A blank page of the preview's origin (a secure context, so WebGPU is there), without the app, with the shaders. */
async function openShaderPage(page: Page): Promise<void> {
  await page.route('**/gpu-shaders-test', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>shaders</title>' }),
  );
  await page.goto('/gpu-shaders-test');
  await page.addScriptTag({ content: await pageScript() });
}

/** A block's candidate codes in ascending order (the shader writes them in no particular order). */
function candidateCodes(block: Uint32Array, capacity: number): number[] {
  const count = Math.min(block[0]!, capacity);
  return Array.from({ length: count }, (_, k) => block[BLOCK_HEADER + CANDIDATE_WORDS * k]!).sort((a, b) => a - b);
}

test('the sampling shader on WebGPU: the CPU sampler’s codes from its candidates, or a step back to the CPU', async ({
  page,
}) => {
  await openShaderPage(page);
  for (const c of candidateCases()) {
    const layout = layoutOf(c);
    const bits = Array.from(new Uint32Array(c.logits.buffer));
    const words = Uint32Array.from(
      await page.evaluate(([b, l]) => window.runCandidates!(b, l), [bits, layout] as const),
    );
    // SwiftShader rounds as IEEE float32 does: the same candidates as the float32 arithmetic on the CPU picks.
    const expected = selectLikeTheShader(c.logits, layout);
    const stride = blockWords(layout);
    for (let i = 0; i < c.images; i++) {
      const [gpu, cpu] = [words, expected].map((w) => w.subarray(i * stride, (i + 1) * stride));
      expect(Array.from(gpu!.subarray(0, 3)), `${c.name}, image ${i}: count, flags, threshold`).toEqual(
        Array.from(cpu!.subarray(0, 3)),
      );
      expect(candidateCodes(gpu!, layout.capacity), `${c.name}, image ${i}`).toEqual(
        candidateCodes(cpu!, layout.capacity),
      );
    }
    for (let seed = 0; seed < 8; seed++) {
      const streams = () => Array.from({ length: c.images }, (_, i) => createRng(seed, i));
      const onDevice = await sampleNextTokensOnDevice(
        () => Promise.resolve(words),
        {} as Tensor,
        layout,
        c.settings,
        streams(),
      );
      if (!c.serves) {
        expect(onDevice, `${c.name}: back to the CPU`).toBeNull();
        continue;
      }
      const onCpu = sampleNextTokens(c.logits, c.images, c.vocab, c.vocab - 1, c.settings, streams());
      expect(onDevice && Array.from(onDevice), `${c.name}, seed ${seed}`).toEqual(Array.from(onCpu));
    }
  }
});

test('the KV cache slot shader writes one slot of float32 and float16 caches and nothing else', async ({ page }) => {
  await openShaderPage(page);
  // [B, H, hd, S] = [2, 3, 4, 6]; keys [B, H, hd, S], values [B, H, S, hd]; slots at even and odd positions (a
  // float16 key is the low or the high half of its word).
  const dims: [number, number, number, number] = [2, 3, 4, 6];
  const [rows, heads, hd, S] = dims;
  const elements = rows * heads * hd;
  for (const [type, position] of [
    ['float32', 3],
    ['float16', 0],
    ['float16', 3],
    ['float16', 5],
  ] as const) {
    const perWord = type === 'float32' ? 1 : 2;
    // Element values as 32-bit words (float32) or 16-bit halves (float16): the shader copies bits, whatever they mean.
    const past = (offset: number) => Array.from({ length: elements * S }, (_, i) => (offset + i * 7) % 65521);
    const fresh = (offset: number) => Array.from({ length: elements }, (_, i) => 60000 + offset + i);
    const [pastKey, pastValue, newKey, newValue] = [past(1), past(2), fresh(0), fresh(500)];
    const pack = (elementsOf: number[]) =>
      perWord === 1
        ? elementsOf
        : Array.from(
            { length: elementsOf.length / 2 },
            (_, w) => (elementsOf[2 * w]! | (elementsOf[2 * w + 1]! << 16)) >>> 0,
          );
    const written = await page.evaluate(([t, d, p, w]) => window.runSlotWrite!(t, d, p, w), [
      type,
      dims,
      position,
      { newKey: pack(newKey), newValue: pack(newValue), pastKey: pack(pastKey), pastValue: pack(pastValue) },
    ] as const);
    const expectedKey = [...pastKey];
    const expectedValue = [...pastValue];
    for (let i = 0; i < elements; i++) {
      expectedKey[i * S + position] = newKey[i]!;
      expectedValue[(Math.floor(i / hd) * S + position) * hd + (i % hd)] = newValue[i]!;
    }
    expect(written.pastKey, `${type} keys, position ${position}`).toEqual(pack(expectedKey));
    expect(written.pastValue, `${type} values, position ${position}`).toEqual(pack(expectedValue));
  }
});

/** onnxruntime-web's runtime files on the preview server (vite.config.ts serves them per version). */
function ortPath(origin: string): string {
  const ortDir = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  const { version } = JSON.parse(readFileSync(join(ortDir, '..', 'package.json'), 'utf8')) as { version: string };
  return `${origin}/ort/${version}/`;
}

/** Serves the folder `dir` at `/<name>/` of the page's origin. */
async function serveFolder(page: Page, name: string, dir: string): Promise<void> {
  await page.route(`**/${name}/**`, (route) => {
    const file = new URL(route.request().url()).pathname.split(`/${name}/`)[1]!;
    return route.fulfill({ body: readFileSync(join(dir, decodeURIComponent(file))) });
  });
}

// Captured for 2 images at load (run twice there: warm-up and capture, so every step below is a replay); a second
// prompt on the same session and tensors, 1 image padded to 2 on it, then 3 images: a new session. A replay that
// read a stale tensor would be far off (changing the ids tensor each step instead of writing it: ≈ 17 in logits).
const CAPTURE_PLANS = [
  { prompt: 'a red circle', images: 2, steps: 12 },
  { prompt: 'a blue square in the top left', images: 2, steps: 8 },
  { prompt: 'a red circle', images: 1, steps: 8 },
  { prompt: 'a red circle', images: 3, steps: 6 },
];

for (const dtype of ['fp32', 'q8', 'q4'] as const)
  test(`the ${dtype} decoder captured and replayed on WebGPU decodes like WASM, across prompts and image counts`, async ({
    page,
  }) => {
    test.setTimeout(240_000);
    await openShaderPage(page);
    const origin = new URL(page.url()).origin;
    // fp32: the bundled demo as the app serves it; q8, q4: its exports (a capture file whose embedding is a float
    // table; q8's weights dequantized once at load).
    if (dtype !== 'fp32') await serveFolder(page, `demo-${dtype}`, demoModel(dtype));
    const modelUrl = `${origin}/${dtype === 'fp32' ? 'models/demo' : `demo-${dtype}`}/`;
    const result = await page.evaluate(([w, m, p]) => window.compareCaptured!(w, m, 2, p), [
      ortPath(origin),
      modelUrl,
      CAPTURE_PLANS,
    ] as const);
    expect(result.captured, 'the decoder is captured').toBe(true);
    const files = { fp32: 'decoder_host_cache.onnx', q8: 'decoder_weight_inputs.onnx', q4: 'decoder_capture.onnx' };
    expect(result.decoderFile).toBe(files[dtype]);
    for (const [i, worst] of result.worst.entries()) expect(worst, JSON.stringify(CAPTURE_PLANS[i])).toBeLessThan(1e-3);
  });

test('a q8 decoder on WebGPU multiplies weights dequantized once at load: no step dequantizes them (otherwise every step does)', async ({
  page,
}) => {
  await openShaderPage(page);
  const origin = new URL(page.url()).origin;
  await serveFolder(page, 'demo-q8', demoModel('q8'));
  const files = {
    'dequantize-once': 'decoder_weight_inputs.onnx',
    'ort-fold': 'decoder_host_cache.onnx',
    'every-step': 'decoder_host_cache.onnx',
  } as const;
  for (const [weights, file] of Object.entries(files)) {
    const { kernels, decoderFile } = await page.evaluate(([w, m, f]) => window.decoderStepKernels!(w, m, f), [
      ortPath(origin),
      `${origin}/demo-q8/`,
      weights as keyof typeof files,
    ] as const);
    expect(decoderFile, weights).toBe(file);
    expect(kernels, weights).toContain('MatMul');
    if (weights === 'every-step') expect(kernels).toContain('DequantizeLinear');
    else expect(kernels, weights).not.toContain('DequantizeLinear');
  }
});
