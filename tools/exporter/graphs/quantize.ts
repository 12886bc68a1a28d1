/** Weight-only quantizers. Pure functions over typed arrays, shared by the exporter and its tests. */

/** Symmetric int8 with one scale per column of a row-major [rows, cols] matrix. */
export function quantizeInt8PerColumn(
  w: Float32Array,
  rows: number,
  cols: number,
): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) scales[c] = Math.max(scales[c]!, Math.abs(w[r * cols + c]!));
  }
  for (let c = 0; c < cols; c++) scales[c] = scales[c]! / 127 || 1;
  const q = new Int8Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.round(w[r * cols + c]! / scales[c]!);
  }
  return { q, scales };
}

/** Symmetric int8 with one scale per row (embedding tables: a Gather picks whole rows). */
export function quantizeInt8PerRow(
  w: Float32Array,
  rows: number,
  cols: number,
): { q: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(rows);
  const q = new Int8Array(w.length);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let c = 0; c < cols; c++) max = Math.max(max, Math.abs(w[r * cols + c]!));
    const scale = max / 127 || 1;
    scales[r] = scale;
    for (let c = 0; c < cols; c++) q[r * cols + c] = Math.round(w[r * cols + c]! / scale);
  }
  return { q, scales };
}

export const Q4_BLOCK = 32;

/**
 * MatMulNBits layout for a row-major [K, N] kernel: B is [N, ceil(K/32), 16] bytes (two 4-bit
 * values per byte, the lower K index in the low nibble), scales are [N * blocks]; the implicit
 * zero point is 8, so each value is (q − 8) · scale.
 */
export function quantizeQ4Blockwise(
  w: Float32Array,
  K: number,
  N: number,
): { packed: Uint8Array; scales: Float32Array; blocks: number } {
  const blocks = Math.ceil(K / Q4_BLOCK);
  const packed = new Uint8Array(N * blocks * (Q4_BLOCK / 2));
  const scales = new Float32Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let block = 0; block < blocks; block++) {
      let max = 0;
      for (let k = block * Q4_BLOCK; k < Math.min(K, (block + 1) * Q4_BLOCK); k++)
        max = Math.max(max, Math.abs(w[k * N + n]!));
      const scale = max / 7 || 1;
      scales[n * blocks + block] = scale;
      for (let i = 0; i < Q4_BLOCK; i++) {
        const k = block * Q4_BLOCK + i;
        const value = k < K ? Math.min(15, Math.max(0, Math.round(w[k * N + n]! / scale) + 8)) : 8;
        const byte = (n * blocks + block) * (Q4_BLOCK / 2) + (i >> 1);
        packed[byte] = packed[byte]! | (i & 1 ? value << 4 : value);
      }
    }
  }
  return { packed, scales, blocks };
}
