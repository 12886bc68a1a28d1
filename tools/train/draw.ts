/**
 * Draws prompts with an exported model in Node (onnxruntime-web WASM, one thread), through the same
 * pipeline the app runs: for the demo model's tests and the README's grid (tools/train/demo-grid.ts).
 */
import * as ort from 'onnxruntime-web';
import { generateImages } from '../../src/pipeline/generate-images.ts';
import { loadDalle } from '../../src/pipeline/load-dalle.ts';
import { sessionOptionsFor } from '../../src/pipeline/session-options.ts';
import { openModelFolder } from '../node/model-folder.ts';
import { DEMO_SAMPLING } from './demo-sampling.ts';

export interface Drawer {
  /** `count` RGBA images of `prompt` (imageSize × imageSize), sampled from `seed` with DEMO_SAMPLING. */
  draw(prompt: string, seed: number, count: number): Promise<Uint8ClampedArray[]>;
  readonly imageSize: number;
  dispose(): Promise<void>;
}

export async function openDrawer(modelDir: string): Promise<Drawer> {
  ort.env.wasm.numThreads = 1;
  const source = openModelFolder(modelDir);
  const { engine, text, dispose } = await loadDalle(ort, source, sessionOptionsFor('wasm', source.manifest));
  return {
    imageSize: source.manifest.vqgan.resolution,
    dispose,
    async draw(prompt, seed, count) {
      const { images } = await generateImages(engine, {
        prompt: text.encode(prompt, seed),
        unconditional: text.unconditional,
        count,
        seed,
        sampling: DEMO_SAMPLING,
        batch: { decoder: count, vqgan: count },
      });
      return images;
    },
  };
}
