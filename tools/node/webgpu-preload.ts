/**
 * `node --import tsx --import tools/node/webgpu-preload.ts …`: a Node process whose `onnxruntime-web` has the page's
 * WebGPU backend (ort-webgpu-hooks.ts), for `npm run bench -- --runtimes webgpu`. Must run before anything imports
 * onnxruntime-web, hence a preload rather than an import.
 */
import { register } from 'node:module';

register('./ort-webgpu-hooks.ts', import.meta.url);
