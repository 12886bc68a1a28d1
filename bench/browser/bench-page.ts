/**
 * The bench page (served by Vite's dev server for `npm run bench:browser`, never built into the app): reads one
 * job from the query string, runs it in a module worker as the app does, and leaves the result on
 * `window.__benchResult` for the Playwright driver (bench/browser/run.ts).
 */
import { isGemmKernelRequest } from '../../src/kernels/gemm-kernel-choice.ts';
import type { BrowserJob, WorkerReply } from './bench.worker.ts';

declare global {
  interface Window {
    __benchResult?: WorkerReply;
  }
}

const query = new URLSearchParams(location.search);
const gemmKernel = query.get('gemmKernel') ?? 'fastest';
const job: BrowserJob = {
  modelUrl: new URL(query.get('model') ?? '/bench-model/', location.href).href,
  backend: query.get('backend') === 'webgpu' ? 'webgpu' : 'wasm',
  images: Number(query.get('images') ?? 1),
  steps: Number(query.get('steps') ?? 256),
  threads: Number(query.get('threads') ?? 1),
  gpuSampling: query.get('gpuSampling') !== 'off',
  graphCapture: query.get('graphCapture') !== 'off',
  foldWeights: query.get('foldWeights') !== 'off',
  gemmKernel: isGemmKernelRequest(gemmKernel) ? gemmKernel : 'fastest',
};
const status = document.getElementById('status')!;
const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
worker.onmessage = (event: MessageEvent<WorkerReply | { log: string }>) => {
  if ('log' in event.data) {
    status.textContent = event.data.log;
    return;
  }
  window.__benchResult = event.data;
  status.textContent = 'done';
};
worker.onerror = (event) => {
  window.__benchResult = { error: event.message || 'the bench worker failed to start' };
};
worker.postMessage(job);
