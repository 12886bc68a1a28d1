/**
 * The browser's helper threads for our own kernels (src/kernels/gemm-threads.ts): one worker per helper, started
 * from the app's worker, sent the kernel module and the shared memory once. Needs cross-origin isolation (a shared
 * WebAssembly.Memory), as ONNX Runtime's own WASM threads do.
 */
import type { GemmHelperInit, SpawnGemmHelper } from '../kernels/gemm-threads.ts';

/** What a helper worker posts once: ready to serve, or why it cannot. */
export type HelperMessage = 'ready' | { readonly error: string };

/** A spawner over `createWorker` (the app's bundled module worker; a test page's script). */
export function browserGemmHelpers(createWorker: () => Worker): SpawnGemmHelper {
  return (init: GemmHelperInit) => {
    const worker = createWorker();
    const ready = new Promise<void>((resolve, reject) => {
      // 'ready', or why the helper could not start.
      worker.addEventListener(
        'message',
        (event: MessageEvent<HelperMessage>) =>
          event.data === 'ready' ? resolve() : reject(new Error(`a kernel helper thread failed: ${event.data.error}`)),
        { once: true },
      );
      worker.addEventListener(
        'error',
        (event) => reject(new Error(`a kernel helper thread failed: ${event.message}`)),
        {
          once: true,
        },
      );
    });
    worker.postMessage(init);
    return {
      ready,
      stop: () => {
        worker.terminate();
        return Promise.resolve();
      },
    };
  };
}

export const spawnBrowserGemmHelper = browserGemmHelpers(
  () => new Worker(new URL('./gemm-helper.worker.ts', import.meta.url), { type: 'module', name: 'gemm-helper' }),
);
