/**
 * Bundled by e2e/gemm-threads.spec.ts into a worker script: multiplies with our own int8 GEMM on one thread and on
 * helper threads started by the app's spawner (browserGemmHelpers, over the helper entry the spec sends), and
 * reports whether they agree. A worker, because the caller of a threaded call waits with Atomics.wait.
 */
import { Int8Gemm } from '../src/kernels/int8-gemm.ts';
import { browserGemmHelpers } from '../src/worker/gemm-helpers.ts';

export interface GemmThreadsResult {
  readonly crossOriginIsolated: boolean;
  readonly equal: boolean;
  readonly outputs: number;
}

/** What the spec sends: the thread count and the helper entry's script (a blob: worker, which needs no route). */
export interface GemmThreadsRequest {
  readonly threads: number;
  readonly helperScript: string;
}

async function compare({ threads, helperScript }: GemmThreadsRequest): Promise<GemmThreadsResult> {
  const [rows, inDim, outDim] = [6, 300, 250];
  const q = Int8Array.from({ length: inDim * outDim }, (_, i) => ((i * 7919) % 255) - 127);
  const scales = Float32Array.from({ length: outDim }, (_, n) => 0.01 + n / 1000);
  const x = Float32Array.from({ length: rows * inDim }, (_, i) => Math.sin(i));
  const one = await Int8Gemm.create();
  const want = one.multiply(one.addLinear(q, scales, inDim, outDim), x, rows);
  const helperUrl = URL.createObjectURL(new Blob([helperScript], { type: 'text/javascript' }));
  const spawnHelper = browserGemmHelpers(() => new Worker(helperUrl));
  const many = await Int8Gemm.create({ threads, spawnHelper });
  try {
    const layer = many.addLinear(q, scales, inDim, outDim);
    let equal = true;
    for (let call = 0; call < 3; call++) {
      const got = many.multiply(layer, x, rows);
      equal &&= got.every((v, i) => v === want[i]);
    }
    return { crossOriginIsolated: self.crossOriginIsolated, equal, outputs: want.length };
  } finally {
    await many.release();
  }
}

self.addEventListener('message', (event: MessageEvent<GemmThreadsRequest>) => {
  compare(event.data).then(
    (result) => self.postMessage(result),
    (error: unknown) => self.postMessage({ error: String(error) }),
  );
});
