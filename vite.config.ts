/**
 * Vite for the app: React, a module worker, cross-origin isolation (WASM threads need
 * SharedArrayBuffer) and a Content-Security-Policy on every response (tools/web), onnxruntime-web's
 * runtime files served from our own origin, a service worker that keeps the app and those files
 * offline (tools/web/pwa.ts), and the tiny demo model exported on first start so `npm run dev`
 * works with no network.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig, loadEnv } from 'vite';
import type { Plugin } from 'vite';
import { ensureDemoModel } from './tools/exporter/demo-model.ts';
import { catalogHosts, parseCatalog } from './src/model/catalog.ts';
import { parseModelHosts } from './tools/web/content-security-policy.ts';
import { pwa } from './tools/web/pwa.ts';
import { ISOLATION_HEADERS, pageHeaders, securityHeaders } from './tools/web/security-headers.ts';

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
      for (const file of ORT_FILES)
        this.emitFile({ type: 'asset', fileName: ORT_URL_DIR + file, source: readFileSync(join(ORT_DIR, file)) });
    },
  };
}

/** Exports the committed demo checkpoint (tools/train/demo-checkpoint) to public/models/demo/ unless a current export is there. */
function demoModel(): Plugin {
  return {
    name: 'demo-model',
    configResolved(config) {
      // Re-exported whenever the exporter's code or the checkpoint changed, so the demo always runs the current graphs.
      ensureDemoModel(join(config.publicDir, 'models', 'demo'));
    },
  };
}

export default defineConfig(({ mode }) => {
  // Model hosts (connect-src): the origins of the catalog's absolute model URLs, plus VITE_MODEL_HOSTS
  // from the environment or a .env file (for hosts a catalog served from elsewhere names).
  const catalog = parseCatalog(
    JSON.parse(readFileSync(join(import.meta.dirname, 'public', 'models', 'catalog.json'), 'utf8')),
  );
  const modelHosts = [
    ...new Set([
      ...catalogHosts(catalog),
      ...parseModelHosts(loadEnv(mode, import.meta.dirname, 'VITE_').VITE_MODEL_HOSTS),
    ]),
  ];
  return {
    plugins: [
      react(),
      ortRuntimeFiles(),
      demoModel(),
      securityHeaders({ modelHosts }),
      pwa({
        ortUrlDir: ORT_URL_DIR,
        ortMaxBytes: Math.max(...ORT_FILES.map((file) => statSync(join(ORT_DIR, file)).size)),
      }),
    ],
    resolve: {
      // Picks ORT's entry without the embedded Emscripten glue: we serve the glue (.mjs) next to the .wasm anyway.
      conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
    },
    optimizeDeps: { exclude: ['onnxruntime-web'] },
    worker: { format: 'es' },
    // Dev relaxes the policy for Vite's inline React preamble, inline CSS and HMR websocket; preview is what ships.
    server: { headers: pageHeaders({ modelHosts, dev: true }) },
    preview: { headers: pageHeaders({ modelHosts }) },
  };
});
