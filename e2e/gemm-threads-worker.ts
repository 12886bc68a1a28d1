/**
 * Bundled by e2e/gemm-threads.spec.ts into a worker script: multiplies and attends with our own kernels on one thread
 * and on helper threads started by the app's spawner (browserGemmHelpers, over the helper entry the spec sends), and
 * reports whether they agree; and whether the relaxed SIMD kernel gives the dot16 kernel's products (Node 20, where the
 * unit tests run, has no relaxed SIMD). A worker, because the caller of a threaded call waits with Atomics.wait.
 */
import { Attention } from '../src/kernels/attention.ts';
import type { AttentionLayer } from '../src/kernels/attention.ts';
import type { GemmKernelChoice } from '../src/kernels/gemm-kernel-choice.ts';
import { Int8Gemm } from '../src/kernels/int8-gemm.ts';
import { browserGemmHelpers } from '../src/worker/gemm-helpers.ts';

export interface GemmThreadsResult {
  readonly crossOriginIsolated: boolean;
  readonly equal: boolean;
  readonly outputs: number;
  /** Self-attention with the step's slot and cross-attention with a text mask, on one thread and on many. */
  readonly attentionEqual: boolean;
  /** The relaxed kernel on one thread and on the helpers, against dot16, on shapes off every block size. */
  readonly relaxedEqual: boolean;
  /** What `fastest` chose here (timing: either kernel may win). */
  readonly fastest: GemmKernelChoice;
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
  const one = await Int8Gemm.create({ kernel: 'dot16' });
  const want = one.multiply(one.addLinear(q, scales, inDim, outDim), x, rows);
  const helperUrl = URL.createObjectURL(new Blob([helperScript], { type: 'text/javascript' }));
  const spawnHelper = browserGemmHelpers(() => new Worker(helperUrl));
  const many = await Int8Gemm.create({ threads, spawnHelper, kernel: 'dot16' });
  const relaxed = [
    await Int8Gemm.create({ kernel: 'relaxed' }),
    await Int8Gemm.create({ threads, spawnHelper, kernel: 'relaxed' }),
  ];
  // Compared before `fastest` warms the kernels up: V8 shares code between identical modules, and the relaxed
  // kernel's first, unoptimized calls are the ones an engine has got wrong.
  const relaxedEqual = relaxed.every((gemm) => sameProducts(one, gemm));
  const fastest = await Int8Gemm.create();
  try {
    const layer = many.addLinear(q, scales, inDim, outDim);
    let equal = true;
    for (let call = 0; call < 3; call++) {
      const got = many.multiply(layer, x, rows);
      equal &&= got.every((v, i) => v === want[i]);
    }
    return {
      crossOriginIsolated: self.crossOriginIsolated,
      equal,
      outputs: want.length,
      attentionEqual: attend(one, many),
      relaxedEqual,
      fastest: fastest.kernel,
    };
  } finally {
    await Promise.all([many, ...relaxed].map((gemm) => gemm.release()));
  }
}

/** The same layers multiplied by two Int8Gemms give the same floats. */
function sameProducts(a: Int8Gemm, b: Int8Gemm): boolean {
  const shapes = [
    [1, 4, 8],
    [2, 1024, 24],
    [3, 37, 13],
    [18, 130, 50],
    [5, 2730, 9],
    [7, 64, 300],
  ] as const;
  return shapes.every(([rows, inDim, outDim]) => {
    const q = Int8Array.from({ length: inDim * outDim }, (_, i) => ((i * 7919 + rows) % 255) - 127);
    const scales = Float32Array.from({ length: outDim }, (_, n) => 0.5 + n / 64);
    const x = Float32Array.from({ length: rows * inDim }, (_, i) => Math.sin(i * 1.7) * (i % 5 === 0 ? 40 : 1));
    const want = a.multiply(a.addLinear(q, scales, inDim, outDim), x, rows);
    const got = b.multiply(b.addLinear(q, scales, inDim, outDim), x, rows);
    // Two layers side by side: the second part's column offsets sit past the first's.
    const parts = [
      { q, scales, outDim },
      { q: q.map((v) => -v), scales, outDim },
    ];
    const [wantParts, gotParts] = [a, b].map((gemm) => gemm.multiplyParts(gemm.addLinears(inDim, parts), x, rows));
    const same = (p: Float32Array, r: Float32Array) => p.every((v, i) => v === r[i]);
    return same(got, want) && wantParts!.every((part, i) => same(gotParts![i]!, part));
  });
}

function attend(one: Int8Gemm, many: Int8Gemm): boolean {
  const [rows, heads, hd, slots] = [4, 3, 16, 20];
  const fill = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k));
  const query = fill(rows * heads * hd, 1.3);
  const extra = { keys: fill(rows * heads * hd, 0.7), values: fill(rows * heads * hd, 2.1) };
  const selfLayer: AttentionLayer = {
    keys: fill(rows * heads * hd * slots, 0.3),
    values: fill(rows * heads * slots * hd, 0.9),
    slots,
    rowsPerGroup: 1,
    visible: 13,
    extra,
  };
  const mask = Array.from({ length: 2 * slots }, (_, j) => (j % 7 === 3 ? 0 : 1));
  const cross: AttentionLayer = {
    keys: selfLayer.keys.subarray(0, 2 * heads * hd * slots),
    values: selfLayer.values.subarray(0, 2 * heads * slots * hd),
    slots,
    rowsPerGroup: 2,
    mask,
  };
  return [selfLayer, cross].every((layer) => {
    const [a, b] = [new Float32Array(query.length), new Float32Array(query.length)];
    new Attention(one).run(query, layer, heads, hd, 0.25, a);
    new Attention(many).run(query, layer, heads, hd, 0.25, b);
    return a.every((v, i) => v === b[i]);
  });
}

self.addEventListener('message', (event: MessageEvent<GemmThreadsRequest>) => {
  compare(event.data).then(
    (result) => self.postMessage(result),
    (error: unknown) => self.postMessage({ error: String(error) }),
  );
});
