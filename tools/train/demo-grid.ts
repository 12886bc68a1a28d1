/**
 * Draws the README's grid of demo prompts (docs/images/demo-grid.png): one row per prompt, one
 * column per seed, each image halved to 128 px to keep the file small.
 *
 *   node --import tsx tools/train/demo-grid.ts [out.png]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDemoModel } from '../exporter/demo-model.ts';
import { encodePng } from '../node/png.ts';
import { openDrawer } from './draw.ts';

export const GRID_PROMPTS = [
  'a red circle on a blue background',
  'a big yellow circle on a blue background',
  'a green square in the top right on a white background',
  'a blue triangle in the top left on a yellow background',
  'a small pink star in the bottom left on a black background',
  'a red circle and a green square on a white background',
  'a big purple ring on an orange background',
  'a cyan star on a grey background',
];
const SEEDS = [0, 1, 2];
const SCALE = 2;

const ROOT = join(import.meta.dirname, '..', '..');
const out = process.argv[2] ?? join(ROOT, 'docs', 'images', 'demo-grid.png');
const drawer = await openDrawer(ensureDemoModel(join(ROOT, '.cache', 'test-models', 'demo-fp32')));
const side = drawer.imageSize / SCALE;
const width = side * SEEDS.length;
const grid = new Uint8ClampedArray(width * side * GRID_PROMPTS.length * 4);
for (const [row, prompt] of GRID_PROMPTS.entries()) {
  for (const [column, seed] of SEEDS.entries()) {
    const [image] = await drawer.draw(prompt, seed, 1);
    // Box-filter downscale by SCALE.
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++)
        for (let c = 0; c < 4; c++) {
          let sum = 0;
          for (let dy = 0; dy < SCALE; dy++)
            for (let dx = 0; dx < SCALE; dx++)
              sum += image![((y * SCALE + dy) * drawer.imageSize + x * SCALE + dx) * 4 + c]!;
          grid[((row * side + y) * width + column * side + x) * 4 + c] = sum / (SCALE * SCALE);
        }
  }
  console.log(`row ${row + 1}: ${prompt}`);
}
await drawer.dispose();
writeFileSync(out, encodePng(grid, width, side * GRID_PROMPTS.length));
console.log(`wrote ${out}`);
