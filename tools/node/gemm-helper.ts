/**
 * Node's helper threads for our own kernels (src/kernels/gemm-threads.ts): a worker_threads Worker that computes
 * chunks of every call until stopped.
 */
import { Worker } from 'node:worker_threads';
import type { SpawnGemmHelper } from '../../src/kernels/gemm-threads.ts';

export const spawnNodeGemmHelper: SpawnGemmHelper = (init) => {
  // A worker does not inherit the tsx loader: the bootstrap registers it, then loads the TypeScript entry.
  const entry = JSON.stringify(new URL('./gemm-helper-thread.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: init });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the GEMM helper thread exited (${code}) before it was ready`)));
  });
  // Once ready, a helper never keeps the process alive (a CLI failing mid-drawing still exits); calls are synchronous.
  void ready.then(
    () => worker.unref(),
    () => undefined,
  );
  // Terminating also ends a helper that is not waiting in its loop.
  return { ready, stop: () => worker.terminate().then(() => undefined) };
};
