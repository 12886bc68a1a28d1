/** A helper thread of our own int8 GEMM (gemm-helpers.ts): serves its share of every call until stopped. */
import { serveGemmHelper } from '../kernels/gemm-threads.ts';
import type { GemmHelperInit } from '../kernels/gemm-threads.ts';

self.addEventListener(
  'message',
  (event: MessageEvent<GemmHelperInit>) => serveGemmHelper(event.data, () => self.postMessage('ready')),
  { once: true },
);
