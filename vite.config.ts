/**
 * Vite for the app and its embed widget (two pages): React, a module worker, cross-origin isolation
 * (WASM threads need SharedArrayBuffer) and a Content-Security-Policy on every response (tools/web), onnxruntime-web's
 * runtime files served from our own origin, a service worker that keeps the app and those files
 * offline (tools/web/pwa.ts), and the demo model and its CLIP exported on first start so `npm run dev`
 * works with no network.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig, loadEnv } from 'vite';
import type { Plugin } from 'vite';
import { ensureDemoClip } from './tools/exporter/clip/demo-clip.ts';
import { ensureDemoModel } from './tools/exporter/demo-model.ts';
import { catalogHosts, parseCatalog } from './src/model/catalog.ts';
import { ORT_RUNTIME_FILES } from './src/pipeline/ort-build.ts';
import { parseModelHosts } from './tools/web/content-security-policy.ts';
import { pwa } from './tools/web/pwa.ts';
import { IMMUTABLE_CACHE, ISOLATION_HEADERS, pageHeaders, securityHeaders } from './tools/web/security-headers.ts';

/**
 * `onnxruntime-web` loads one of its builds at run time: the JSEP one (WebGPU and WASM EPs) on WebGPU, the
 * WASM-only one on WASM (src/pipeline/ort-build.ts).
 */
const ORT_DIR = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
const ORT_VERSION = (JSON.parse(readFileSync(join(ORT_DIR, '..', 'package.json'), 'utf8')) as { version: string })
  .version;
/**
 * A folder per ONNX Runtime version (src/main.tsx gets it as __ORT_PATH__): the URL itself is the
 * revision, so the service worker precaches the very URL the page fetches and each .wasm (14 and 28 MB) is
 * downloaded once (tools/web/pwa.ts), and hosts may cache the folder forever.
 */
const ORT_URL_DIR = `ort/${ORT_VERSION}/`;

/** Serves ORT's runtime files under /ort/<version>/ in dev and writes them to dist/ort/<version>/ in builds. */
function ortRuntimeFiles(): Plugin {
  let base = '/';
  const isOrtFile = (url: string | undefined): string | undefined => {
    const path = url?.split('?')[0] ?? '';
    const file = path.startsWith(base + ORT_URL_DIR) ? path.slice(base.length + ORT_URL_DIR.length) : '';
    return ORT_RUNTIME_FILES.includes(file) ? file : undefined;
  };
  return {
    name: 'ort-runtime-files',
    configResolved(config) {
      base = config.base;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const file = isOrtFile(req.url);
        if (file === undefined) return next();
        res.setHeader('Content-Type', file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        res.setHeader('Cache-Control', IMMUTABLE_CACHE);
        for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
        res.end(readFileSync(join(ORT_DIR, file)));
      });
    },
    configurePreviewServer(server) {
      // vite preview serves the built files; this only adds the caching header a host should send too.
      server.middlewares.use((req, res, next) => {
        if (isOrtFile(req.url) !== undefined) res.setHeader('Cache-Control', IMMUTABLE_CACHE);
        next();
      });
    },
    generateBundle() {
      for (const file of ORT_RUNTIME_FILES)
        this.emitFile({ type: 'asset', fileName: ORT_URL_DIR + file, source: readFileSync(join(ORT_DIR, file)) });
    },
  };
}

/**
 * Exports the committed demo checkpoint (tools/train/demo-checkpoint) to public/models/demo/ and the demo CLIP
 * (tools/train/clip-checkpoint) to public/models/clip-demo/ unless current exports are there.
 */
function demoModel(): Plugin {
  return {
    name: 'demo-model',
    configResolved(config) {
      // Re-exported whenever the exporter's code or the checkpoint changed, so the demo always runs the current graphs.
      ensureDemoModel(join(config.publicDir, 'models', 'demo'));
      // The demo's CLIP ranker, trained on the same scenes (tools/train/clip-checkpoint): ranking works offline too.
      ensureDemoClip(join(config.publicDir, 'models', 'clip-demo'));
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
      securityHeaders({ modelHosts }, [ORT_URL_DIR]),
      pwa({
        ortUrlDir: ORT_URL_DIR,
        ortMaxBytes: Math.max(...ORT_RUNTIME_FILES.map((file) => statSync(join(ORT_DIR, file)).size)),
      }),
    ],
    resolve: {
      // Picks ORT's entry without the embedded Emscripten glue: we serve the glue (.mjs) next to the .wasm anyway.
      conditions: ['onnxruntime-web-use-extern-wasm', ...defaultClientConditions],
      // transformers.js imports ORT's WebGPU entry; it runs on the instance we register (src/pipeline/clip/
      // transformers-runtime.ts), so that import resolves to our entry and only one ORT ships.
      alias: [{ find: /^onnxruntime-web\/webgpu$/, replacement: 'onnxruntime-web' }],
    },
    define: { __ORT_PATH__: JSON.stringify(ORT_URL_DIR) },
    optimizeDeps: { exclude: ['onnxruntime-web'] },
    // Two pages: the app, and the widget blogs frame (docs/embedding.md); they share the worker and most code.
    build: {
      rolldownOptions: {
        input: { app: join(import.meta.dirname, 'index.html'), embed: join(import.meta.dirname, 'embed.html') },
      },
    },
    worker: { format: 'es' },
    // Dev relaxes the policy for Vite's inline React preamble, inline CSS and HMR websocket; preview is what ships.
    // The embed page's own framing headers replace these per path (securityHeaders).
    server: { headers: pageHeaders({ modelHosts, dev: true }) },
    preview: { headers: pageHeaders({ modelHosts }) },
  };
});
