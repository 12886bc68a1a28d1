/**
 * Vite for the app: React, a module worker, cross-origin isolation (WASM threads need
 * SharedArrayBuffer), onnxruntime-web's runtime files served from our own origin, and the tiny
 * demo model exported on first start so `npm run dev` works with no network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';
import type { Plugin } from 'vite';
import { MANIFEST_FORMAT } from './src/model/manifest.ts';
import { exportModel } from './tools/exporter/export-model.ts';
import { writeRandomCheckpoint } from './tools/exporter/random-checkpoint.ts';

const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** The default `onnxruntime-web` entry (JSEP build: WebGPU and WASM EPs) loads these two at run time. */
const ORT_DIR = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'];
/** Must match ORT_PATH in src/main.tsx. */
const ORT_URL_DIR = 'ort/';

/** Serves ORT's runtime files under /ort/ in dev and writes them to dist/ort/ in builds. */
function ortRuntimeFiles(): Plugin {
  let base = '/';
  return {
    name: 'ort-runtime-files',
    configResolved(config) {
      base = config.base;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = req.url?.split('?')[0] ?? '';
        const file = path.startsWith(base + ORT_URL_DIR) ? path.slice(base.length + ORT_URL_DIR.length) : '';
        if (!ORT_FILES.includes(file)) return next();
        res.setHeader('Content-Type', file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
        res.end(readFileSync(join(ORT_DIR, file)));
      });
    },
    generateBundle() {
      for (const file of ORT_FILES) this.emitFile({ type: 'asset', fileName: ORT_URL_DIR + file, source: readFileSync(join(ORT_DIR, file)) });
    },
  };
}

/** Exports the tiny random model to public/models/demo/ unless a current one is there. */
function demoModel(): Plugin {
  return {
    name: 'demo-model',
    configResolved(config) {
      const outDir = join(config.publicDir, 'models', 'demo');
      const manifest = join(outDir, 'manifest.json');
      if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { format?: unknown }).format === MANIFEST_FORMAT) return;
      const modelId = 'random-tiny-seed1';
      const cache = join(config.root, '.cache', 'checkpoints', modelId);
      const checkpoint = existsSync(join(cache, 'vqgan', 'flax_model.msgpack'))
        ? { dalle: join(cache, 'dalle'), vqgan: join(cache, 'vqgan') }
        : writeRandomCheckpoint('tiny', 1, cache);
      exportModel({ dalleDir: checkpoint.dalle, vqganDir: checkpoint.vqgan, outDir, dtype: 'fp32', modelId });
      config.logger.info(`exported the demo model to ${outDir}`);
    },
  };
}

export default defineConfig({
  plugins: [react(), ortRuntimeFiles(), demoModel()],
  resolve: {
    // Picks ORT's entry without the embedded Emscripten glue: we serve the glue (.mjs) next to the .wasm anyway.
    conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
  },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
});
