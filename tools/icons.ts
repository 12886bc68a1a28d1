/**
 * Writes the app's icons to public/: a 3×3 grid of coloured tiles (a prompt's grid of pictures) on
 * a dark rounded square. One description gives the SVG favicon and the PNGs, so they cannot drift;
 * the PNGs are rasterised here (4×4 supersampling) rather than by an SVG tool the machine may lack.
 *
 *   node --import tsx tools/icons.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from './node/png.ts';

interface Box {
  readonly x: number;
  readonly y: number;
  readonly size: number;
  readonly radius: number;
  readonly colour: string;
}

const BACKGROUND = '#1d1d1f'; // src/ui/app.css text colour
const COLOURS = ['#ff6b6b', '#ffa94d', '#ffd43b', '#f783ac', '#69db7c', '#38d9a9', '#9775fa', '#4dabf7', '#3bc9db'];

/**
 * The icon in a unit square. `maskable`: the background fills the square and the grid stays inside
 * the safe zone (a centred circle of radius 0.4) that every launcher mask keeps.
 */
function boxes(maskable: boolean): Box[] {
  const margin = maskable ? 0.22 : 0.16;
  const gap = maskable ? 0.035 : 0.05;
  const cell = (1 - 2 * margin - 2 * gap) / 3;
  const tiles = COLOURS.map((colour, i) => ({
    x: margin + (i % 3) * (cell + gap),
    y: margin + Math.floor(i / 3) * (cell + gap),
    size: cell,
    radius: cell * 0.2,
    colour,
  }));
  return [{ x: 0, y: 0, size: 1, radius: maskable ? 0 : 0.22, colour: BACKGROUND }, ...tiles];
}

function svg(shapes: readonly Box[]): string {
  const n = (v: number): string => String(Math.round(v * 1000) / 10);
  const rects = shapes.map(
    (b) =>
      `<rect x="${n(b.x)}" y="${n(b.y)}" width="${n(b.size)}" height="${n(b.size)}" rx="${n(b.radius)}" fill="${b.colour}"/>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">${rects.join('')}</svg>\n`;
}

function inside(b: Box, x: number, y: number): boolean {
  if (x < b.x || y < b.y || x > b.x + b.size || y > b.y + b.size) return false;
  const dx = Math.max(b.x + b.radius - x, 0, x - (b.x + b.size - b.radius));
  const dy = Math.max(b.y + b.radius - y, 0, y - (b.y + b.size - b.radius));
  return dx * dx + dy * dy <= b.radius * b.radius;
}

function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** RGBA pixels: each shape painted over the ones before it with its coverage as alpha. */
function raster(shapes: readonly Box[], size: number): Uint8Array {
  const SUB = 4;
  const out = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const shape of shapes) {
        let hits = 0;
        for (let sy = 0; sy < SUB; sy++) {
          for (let sx = 0; sx < SUB; sx++)
            if (inside(shape, (px + (sx + 0.5) / SUB) / size, (py + (sy + 0.5) / SUB) / size)) hits++;
        }
        if (hits === 0) continue;
        const cover = hits / (SUB * SUB);
        const [sr, sg, sb] = rgb(shape.colour);
        // Source-over in premultiplied terms.
        r = sr * cover + r * (1 - cover);
        g = sg * cover + g * (1 - cover);
        b = sb * cover + b * (1 - cover);
        a = cover + a * (1 - cover);
      }
      const o = (py * size + px) * 4;
      out.set(a > 0 ? [r / a, g / a, b / a, a * 255].map(Math.round) : [0, 0, 0, 0], o);
    }
  }
  return out;
}

const publicDir = join(import.meta.dirname, '..', 'public');
writeFileSync(join(publicDir, 'favicon.svg'), svg(boxes(false)));
for (const [name, size, maskable] of [
  ['icon-192.png', 192, false],
  ['icon-512.png', 512, false],
  ['icon-maskable-512.png', 512, true],
] as const) {
  writeFileSync(join(publicDir, name), encodePng(raster(boxes(maskable), size), size, size));
}
