/**
 * Images as files: the exact pixels of a drawing as PNG (one image, or the whole grid tiled with no
 * gap, so every tile is byte for byte its image), small thumbnails, downloads and the clipboard.
 */

/** Columns of a grid of `count` images: 1, 2×1, 2×2, 3×2, 3×3 … as the page shows them. */
export function gridColumns(count: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(count)));
}

function canvasOf(width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

function context2d(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser cannot draw on a canvas');
  return context;
}

function toImageData(rgba: Uint8ClampedArray, size: number): ImageData {
  // A copy only to satisfy ImageData's type (Uint8ClampedArray<ArrayBuffer>).
  return new ImageData(new Uint8ClampedArray(rgba), size, size);
}

function toBlob(canvas: HTMLCanvasElement, type: string, quality?: number): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error('the browser could not encode the image'))),
      type,
      quality,
    ),
  );
}

export function imagePng(rgba: Uint8ClampedArray, size: number): Promise<Blob> {
  const canvas = canvasOf(size, size);
  context2d(canvas).putImageData(toImageData(rgba, size), 0, 0);
  return toBlob(canvas, 'image/png');
}

export function gridPng(images: readonly Uint8ClampedArray[], size: number): Promise<Blob> {
  const columns = gridColumns(images.length);
  const rows = Math.ceil(images.length / columns);
  const canvas = canvasOf(columns * size, rows * size);
  const context = context2d(canvas);
  images.forEach((rgba, i) =>
    context.putImageData(toImageData(rgba, size), (i % columns) * size, Math.floor(i / columns) * size),
  );
  return toBlob(canvas, 'image/png');
}

/** A small JPEG data URL of an image (for the history list): a few kB instead of 256 kB of pixels. */
export async function thumbnail(rgba: Uint8ClampedArray, size: number, side = 64): Promise<string> {
  const full = canvasOf(size, size);
  context2d(full).putImageData(toImageData(rgba, size), 0, 0);
  const small = canvasOf(side, side);
  const context = context2d(small);
  context.imageSmoothingQuality = 'high';
  context.drawImage(full, 0, 0, side, side);
  const blob = await toBlob(small, 'image/jpeg', 0.8);
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '');
    reader.onerror = () => reject(reader.error ?? new Error('the thumbnail could not be read'));
    reader.readAsDataURL(blob);
  });
}

export function saveFile(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.click();
  // The download has its own reference to the data by now; a minute is ample for slow browsers.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Copies a PNG; the promise form of ClipboardItem keeps the user's click valid while the PNG is encoded (Safari). */
export async function copyPng(png: Promise<Blob>): Promise<void> {
  if (!navigator.clipboard?.write || typeof ClipboardItem === 'undefined')
    throw new Error('this browser cannot copy images');
  await navigator.clipboard.write([new ClipboardItem({ 'image/png': png })]);
}

/** A file name from a prompt: "a-red-apple-seed-42-3.png". */
export function fileName(prompt: string, seed: number, suffix: string): string {
  const words = prompt
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${words || 'dalle-mini'}-seed-${seed}-${suffix}.png`;
}
