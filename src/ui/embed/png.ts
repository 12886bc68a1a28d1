/** Generated RGBA pixels as PNG files, for the postMessage API's results (a canvas does the encoding). */
import type { ImageFormat } from './embed-api.ts';

export async function rgbaToPng(
  rgba: Uint8ClampedArray,
  imageSize: number,
  format: ImageFormat,
): Promise<string | Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = imageSize;
  canvas.height = imageSize;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('this browser gave no 2D canvas to encode the PNG with');
  // A copy only to satisfy ImageData's type (Uint8ClampedArray<ArrayBuffer>).
  context.putImageData(new ImageData(new Uint8ClampedArray(rgba), imageSize, imageSize), 0, 0);
  if (format === 'data-url') return canvas.toDataURL('image/png');
  return new Promise<Blob>((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the PNG could not be encoded'))), 'image/png'),
  );
}
