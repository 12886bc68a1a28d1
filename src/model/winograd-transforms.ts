/**
 * Winograd F(m×m, 3×3)'s matrices (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015), a = m + 2:
 * U = G·g·Gᵀ (filters), V = Bᵀ·d·B (input tiles of a × a), Y = Aᵀ·(U ⊙ V)·A (output tiles of m × m). Shared by the
 * exporter's Winograd graph (tools/exporter/graphs/winograd.ts) and our own kernels (src/kernels/winograd-conv.ts).
 */
export type WinogradTile = 2 | 4 | 6;

export interface WinogradTransforms {
  /** a × 3 */
  readonly G: readonly (readonly number[])[];
  /** a × a */
  readonly BT: readonly (readonly number[])[];
  /** m × a */
  readonly AT: readonly (readonly number[])[];
}

/** Lavin & Gray's matrices: interpolation points 0, ±1 (m = 2) and 0, ±1, ±2 (m = 4), plus ∞. */
export const WINOGRAD_TRANSFORMS: Record<WinogradTile, WinogradTransforms> = {
  2: {
    G: [
      [1, 0, 0],
      [0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5],
      [0, 0, 1],
    ],
    BT: [
      [1, 0, -1, 0],
      [0, 1, 1, 0],
      [0, -1, 1, 0],
      [0, 1, 0, -1],
    ],
    AT: [
      [1, 1, 1, 0],
      [0, 1, -1, -1],
    ],
  },
  4: {
    G: [
      [1 / 4, 0, 0],
      [-1 / 6, -1 / 6, -1 / 6],
      [-1 / 6, 1 / 6, -1 / 6],
      [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6],
      [0, 0, 1],
    ],
    BT: [
      [4, 0, -5, 0, 1, 0],
      [0, -4, -4, 1, 1, 0],
      [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0],
      [0, 2, -1, -2, 1, 0],
      [0, 4, 0, -5, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 0],
      [0, 1, 1, 4, 4, 0],
      [0, 1, -1, 8, -8, 1],
    ],
  },
  // Points 0, ±1, ±2, ±1/2 (the usual choice for F(6×6, 3×3); Cook–Toom with these points gives the two above too).
  6: {
    G: [
      [-1, 0, 0],
      [-2 / 9, -2 / 9, -2 / 9],
      [-2 / 9, 2 / 9, -2 / 9],
      [1 / 90, 1 / 45, 2 / 45],
      [1 / 90, -1 / 45, 2 / 45],
      [32 / 45, 16 / 45, 8 / 45],
      [32 / 45, -16 / 45, 8 / 45],
      [0, 0, 1],
    ],
    BT: [
      [-1, 0, 21 / 4, 0, -21 / 4, 0, 1, 0],
      [0, 1, 1, -17 / 4, -17 / 4, 1, 1, 0],
      [0, -1, 1, 17 / 4, -17 / 4, -1, 1, 0],
      [0, 1 / 2, 1 / 4, -5 / 2, -5 / 4, 2, 1, 0],
      [0, -1 / 2, 1 / 4, 5 / 2, -5 / 4, -2, 1, 0],
      [0, 2, 4, -5 / 2, -5, 1 / 2, 1, 0],
      [0, -2, 4, 5 / 2, -5, -1 / 2, 1, 0],
      [0, -1, 0, 21 / 4, 0, -21 / 4, 0, 1],
    ],
    AT: [
      [1, 1, 1, 1, 1, 1, 1, 0],
      [0, 1, -1, 2, -2, 1 / 2, -1 / 2, 0],
      [0, 1, 1, 4, 4, 1 / 4, 1 / 4, 0],
      [0, 1, -1, 8, -8, 1 / 8, -1 / 8, 0],
      [0, 1, 1, 16, 16, 1 / 16, 1 / 16, 0],
      [0, 1, -1, 32, -32, 1 / 32, -1 / 32, 1],
    ],
  },
};

/**
 * Below this map size F(6×6) loses to F(4×4) on WASM: sizes are powers of two, so whole 6×6 tiles pad
 * 16 and 32 by a quarter and an eighth (64 by 3 %, 256 by 1 %; docs/performance.md#vqgan-on-wasm).
 */
const WINOGRAD_6_MIN_SIZE = 64;

/** The tile the WASM VQGAN uses on a size × size map: F(6×6) from WINOGRAD_6_MIN_SIZE, F(4×4) below. */
export function shippedWinogradTile(size: number): WinogradTile {
  return size >= WINOGRAD_6_MIN_SIZE ? 6 : 4;
}
