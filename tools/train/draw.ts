/**
 * Draws prompts with an exported model in Node (onnxruntime-web WASM, one thread), through the same
 * pipeline the app runs: for the demo model's tests and the README's grid (tools/train/demo-grid.ts).
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-web';
import { parseCatalog } from '../../src/model/catalog.ts';
import type { CatalogModel } from '../../src/model/catalog.ts';
import { generateImages } from '../../src/pipeline/generate-images.ts';
import { loadDalle } from '../../src/pipeline/load-dalle.ts';
import type { SamplingSettings } from '../../src/pipeline/sampler.ts';
import { sessionOptionsFor } from '../../src/pipeline/session-options.ts';
import { effectiveSampling, FOLLOW_MODEL } from '../../src/ui/sampling-choice.ts';
import { openModelFolder } from '../node/model-folder.ts';

/**
 * How the demo model is drawn for its tests and the README grid, as the app draws it with no sampling setting
 * changed: the demo's suggested sampling in the site's catalog (condition scale 3), else the defaults. At the
 * default 10, super-conditioning multiplies the tiny model's small errors in rare codes (its unconditional row is
 * trained on 15 % of the captions) into cells of stray colours all over the image.
 */
export const DEMO_SAMPLING: SamplingSettings = effectiveSampling(FOLLOW_MODEL, siteDemoEntry());

function siteDemoEntry(): CatalogModel {
  const file = new URL('../../public/models/catalog.json', import.meta.url);
  const demo = parseCatalog(JSON.parse(readFileSync(file, 'utf8')), file.pathname).models.find((m) => m.id === 'demo');
  if (!demo) throw new Error(`${file.pathname} has no "demo" model`);
  return demo;
}

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
