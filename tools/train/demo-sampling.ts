/**
 * How the demo model is drawn when no sampling setting is changed, as the app draws it: the demo's suggested
 * sampling in the site's catalog (condition scale 1.5), else the defaults. At the default 10, super-conditioning
 * multiplies the tiny model's small errors in rare codes (its unconditional row is trained on 15 % of the captions)
 * into cells of stray colours all over the image, and from 3 up it starts "bottom" objects in the top rows (README,
 * "The demo model"). Used by the demo's tests, the README grid and the e2e tests' CLI drawings; no ONNX Runtime here.
 */
import { readFileSync } from 'node:fs';
import { parseCatalog } from '../../src/model/catalog.ts';
import type { CatalogModel } from '../../src/model/catalog.ts';
import type { SamplingSettings } from '../../src/pipeline/sampler.ts';
import { effectiveSampling, FOLLOW_MODEL } from '../../src/ui/sampling-choice.ts';

export const DEMO_SAMPLING: SamplingSettings = effectiveSampling(FOLLOW_MODEL, siteDemoEntry());

/** DEMO_SAMPLING as `npm run generate` flags. */
export const DEMO_SAMPLING_FLAGS: readonly string[] = [
  ...['--condition-scale', `${DEMO_SAMPLING.conditionScale}`, '--top-k', `${DEMO_SAMPLING.topK}`],
  ...['--top-p', `${DEMO_SAMPLING.topP}`, '--temperature', `${DEMO_SAMPLING.temperature}`],
];

function siteDemoEntry(): CatalogModel {
  const file = new URL('../../public/models/catalog.json', import.meta.url);
  const demo = parseCatalog(JSON.parse(readFileSync(file, 'utf8')), file.pathname).models.find((m) => m.id === 'demo');
  if (!demo) throw new Error(`${file.pathname} has no "demo" model`);
  return demo;
}
