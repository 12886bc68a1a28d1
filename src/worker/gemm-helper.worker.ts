/** A helper thread of our own kernels (gemm-helpers.ts): computes chunks of every call until stopped. */
import { serveGemmHelper } from '../kernels/gemm-threads.ts';
import type { GemmHelperInit } from '../kernels/gemm-threads.ts';
import type { HelperMessage } from './gemm-helpers.ts';

const post = (message: HelperMessage) => self.postMessage(message);

self.addEventListener(
  'message',
  (event: MessageEvent<GemmHelperInit>) => {
    try {
      serveGemmHelper(event.data, () => post('ready'));
    } catch (error) {
      post({ error: String(error) });
    }
  },
  { once: true },
);
// The module and shared memory could not be received (e.g. a memory this thread cannot share).
self.addEventListener('messageerror', () => post({ error: 'the kernel module or memory could not be received' }), {
  once: true,
});
