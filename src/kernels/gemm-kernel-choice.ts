/**
 * Which of the two GEMM kernels (int8-gemm-kernel.ts) an Int8Gemm runs. Both compute the same integers, so the choice
 * changes speed only, and it is made by measurement: engines lower relaxed SIMD's 8-bit dot differently. Chromium 150
 * on a CPU with AVX-VNNI ran `relaxed` 1.25× faster than `dot16` at 18 rows (one instruction per 16 multiply-adds);
 * Node 20's V8, behind its flag, ran it 1.85× slower (three instructions, as on CPUs without VNNI) and, before it
 * optimized the code, computed some products wrongly. So `relaxed` runs only where it compiles, gives `dot16`'s
 * products bit for bit before and after the engine optimized it, and is faster on this machine
 * (docs/performance.md#relaxed-simd).
 */
import type { GemmKernel } from './int8-gemm-kernel.ts';
import { encodeModule } from './wasm-binary.ts';
import { int8GemmFunction } from './int8-gemm-kernel.ts';

/** What Int8Gemm.create is asked for: one kernel, or the faster one here (`fastest`, the default). */
export const GEMM_KERNEL_REQUESTS = ['fastest', 'dot16', 'relaxed'] as const;
export type GemmKernelRequest = (typeof GEMM_KERNEL_REQUESTS)[number];

export const isGemmKernelRequest = (value: string): value is GemmKernelRequest =>
  (GEMM_KERNEL_REQUESTS as readonly string[]).includes(value);

/** A kernel asked for by name that this engine cannot run (not a helper thread's failure: nothing to fall back to). */
export class KernelUnavailableError extends Error {
  override name = 'KernelUnavailableError';
}

export interface GemmKernelChoice {
  readonly kernel: GemmKernel;
  /** Why, in words (a benchmark prints it). */
  readonly reason: string;
}

/** Whether this engine compiles relaxed SIMD (Chromium since 114; not Node 20 without a flag). */
export function relaxedSimdCompiles(): boolean {
  return WebAssembly.validate(encodeModule({ gemm: int8GemmFunction('relaxed') }, { shared: false }));
}

/** How long each kernel runs before it is timed: V8 optimizes a WebAssembly function after it has run a while. */
const WARM_MS = 15;
const ROUNDS = 5;
/**
 * Each round runs a kernel at least this long and counts its calls: a page that is not cross-origin isolated reads a
 * clock of 0.1 ms steps, coarse against one call's ≈ 0.1 ms.
 */
const ROUND_MS = 4;
/** `relaxed` must beat `dot16` by this much: both are exact, so a tie keeps the kernel every engine has. */
const MARGIN = 0.95;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/**
 * Times `multiply` (one product of a fixed layer and input, returning its output) with each kernel, interleaved, and
 * checks that they agree bit for bit before and after the warm-up.
 */
export function chooseGemmKernel(
  multiply: (kernel: GemmKernel) => Float32Array,
  now: () => number = () => performance.now(),
): GemmKernelChoice {
  const agree = (): boolean => {
    const want = multiply('dot16').slice();
    const got = multiply('relaxed');
    return got.length === want.length && got.every((v, i) => v === want[i]);
  };
  if (!agree()) return { kernel: 'dot16', reason: 'relaxed SIMD computed other products than dot16 here' };
  const kernels = ['dot16', 'relaxed'] as const;
  for (const kernel of kernels) for (const until = now() + WARM_MS; now() < until;) multiply(kernel);
  const perCall: Record<GemmKernel, number[]> = { dot16: [], relaxed: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const kernel of kernels) {
      const start = now();
      let [calls, elapsed] = [0, 0];
      for (; elapsed < ROUND_MS; elapsed = now() - start, calls++) multiply(kernel);
      perCall[kernel].push(elapsed / calls);
    }
  }
  if (!agree()) return { kernel: 'dot16', reason: 'relaxed SIMD, once optimized, computed other products here' };
  const ratio = median(perCall.relaxed) / median(perCall.dot16);
  const measured = `relaxed SIMD took ${ratio.toFixed(2)}× dot16's time here`;
  return ratio < MARGIN ? { kernel: 'relaxed', reason: measured } : { kernel: 'dot16', reason: measured };
}
