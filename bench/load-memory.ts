/**
 * npm run bench:load-memory -- --model <dir> [--source folder,store,memory,memory-kept|both]
 * How much memory loading a model into ONNX Runtime (onnxruntime-web's WASM backend, as in the
 * browser) takes, from a model folder and from the model store (IndexedDB through fake-indexeddb); `memory` is the
 * store a page runs from where the browser blocks storage (the worker's model library, each file handed over as it
 * is read), `memory-kept` the same store read without handing over (the whole model kept until loaded, as before).
 * Each source is measured in a fresh process: a sampling thread records the resident set size every
 * millisecond while `loadDalle` runs. Printed next to the model's bytes, its largest file and its
 * largest graph: what the sessions hold once loaded (ONNX Runtime's own copy of the weights, where on WASM
 * int8 weights are dequantized to float32 at load, src/pipeline/session-options.ts; a q8 encoder and decoder
 * run on our own kernels as on the page, their weights int8) and the peak above that while loading, the
 * loading path's own cost. The aim (docs/model-format.md#memory-while-loading):
 * at most one graph's files on top of the weights, never a second copy of the model.
 */
import 'fake-indexeddb/auto';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-web';
import { GRAPH_NAMES } from '../src/model/graph-io.ts';
import type { ModelManifest } from '../src/model/manifest.ts';
import type { ModelSource } from '../src/model/model-source.ts';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { ownKernelsOnWasm, sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { downloadModel } from '../src/store/download.ts';
import { ModelStore } from '../src/store/model-store.ts';
import { indexedDbBackend, memoryBackend } from '../src/store/piece-store.ts';
import { storedModelId } from '../src/store/records.ts';
import { storeModelSource } from '../src/store/store-model-source.ts';
import { createModelLibrary } from '../src/worker/model-library.ts';
import { parseArgs, runCli, UsageError } from '../tools/cli-args.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';

const SOURCES = ['folder', 'store', 'memory', 'memory-kept'] as const;
type SourceKind = (typeof SOURCES)[number];

const MB = 1e6;
const mb = (bytes: number): string => `${(bytes / MB).toFixed(0)} MB`;

/** Samples RSS from another thread, which keeps running while the main thread is inside WASM. */
function startRssSampler(): { stop: () => Promise<number> } {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     let peak = 0;
     const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 1);
     parentPort.on('message', () => { clearInterval(timer); parentPort.postMessage(Math.max(peak, process.memoryUsage.rss())); });`,
    { eval: true },
  );
  return {
    stop: () =>
      new Promise<number>((resolve) => {
        worker.once('message', (peak: number) => void worker.terminate().then(() => resolve(peak)));
        worker.postMessage('stop');
      }),
  };
}

const BASE_URL = 'http://bench.invalid/model/';

/** The folder's files served as a host would, for the store's own downloader. */
function fetchFromDisk(dir: string) {
  return async (url: string): Promise<Response> => {
    const bytes = await readFile(join(dir, decodeURIComponent(new URL(url).pathname.slice('/model/'.length))));
    return new Response(bytes, { headers: { 'content-length': String(bytes.byteLength) } });
  };
}

/**
 * The folder's files put into a fresh model store, through the store's own downloader; `loaded` is what the page
 * does once the sessions hold the weights (a memory store drops the model).
 */
async function storeSource(
  dir: string,
  manifest: ModelManifest,
  kind: Exclude<SourceKind, 'folder'>,
): Promise<{ source: ModelSource; loaded: () => Promise<unknown> }> {
  const backend = kind === 'store' ? indexedDbBackend('load-memory-bench') : memoryBackend();
  const store = new ModelStore(backend, { storage: undefined });
  if (kind === 'memory') {
    const storage = { kind: 'memory' as const, reason: 'bench', notice: 'bench' };
    const library = createModelLibrary({
      openStore: () => Promise.resolve({ store, storage }),
      fetch: fetchFromDisk(dir),
    });
    const { source, close } = await library.open(BASE_URL, manifest, { handOverFiles: true });
    return { source, loaded: () => close({ loaded: true }) };
  }
  await downloadModel(store, BASE_URL, manifest, { fetch: fetchFromDisk(dir) });
  const loaded = () => (kind === 'memory-kept' ? store.deleteModel(storedModelId(manifest)) : Promise.resolve());
  return { source: storeModelSource(store, manifest), loaded };
}

async function measure(dir: string, kind: SourceKind): Promise<void> {
  const folder = openModelFolder(dir);
  const { source, loaded } =
    kind === 'folder'
      ? { source: folder, loaded: () => Promise.resolve() }
      : await storeSource(dir, folder.manifest, kind);
  ort.env.wasm.numThreads = 1;
  global.gc?.();
  const before = process.memoryUsage.rss();
  const sampler = startRssSampler();
  const options = sessionOptionsFor('wasm', source.manifest, { ownKernels: ownKernelsOnWasm(1) });
  const { dispose } = await loadDalle(ort, source, options, {
    hostCacheGraph: true,
  });
  await loaded();
  const peak = await sampler.stop();
  global.gc?.();
  const after = process.memoryUsage.rss();
  await dispose();
  console.log(JSON.stringify({ kind, before, peak, after }));
}

function graphBytes(manifest: ModelManifest): number {
  const sizes = new Map(manifest.files.map((file) => [file.path, file.bytes]));
  return Math.max(
    ...GRAPH_NAMES.map((graph) => {
      const entry = manifest.graphs[graph];
      return [entry.file, ...entry.externalData].reduce((sum, path) => sum + (sizes.get(path) ?? 0), 0);
    }),
  );
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['model', 'source', 'child']);
  const dir = args.values.get('model');
  if (!dir) throw new UsageError('--model <dir> is required (an exported model folder)');
  const child = args.values.get('child');
  if (child !== undefined) return measure(dir, child as SourceKind);
  const which = args.values.get('source') ?? 'both';
  const kinds = (which === 'both' ? 'folder,store' : which).split(',') as SourceKind[];
  for (const kind of kinds)
    if (!(SOURCES as readonly string[]).includes(kind))
      throw new UsageError(`--source takes ${SOURCES.join(', ')} (comma-separated) or both, got "${kind}"`);

  const { manifest } = openModelFolder(dir);
  const modelBytes = manifest.files.reduce((sum, file) => sum + file.bytes, 0);
  const largestFile = Math.max(...manifest.files.map((file) => file.bytes));
  const largestGraph = graphBytes(manifest);
  console.log(
    `${manifest.modelId} (${manifest.dtype}): model ${mb(modelBytes)}, largest file ${mb(largestFile)}, ` +
      `largest graph with its data ${mb(largestGraph)}`,
  );
  for (const kind of kinds) {
    // A fresh process per source, so one measurement's heap and peak do not carry into the next.
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', import.meta.filename, '--model', dir, '--child', kind],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
    );
    const { before, peak, after } = JSON.parse(output.trim().split('\n').pop()!) as Record<string, number>;
    const held = after! - before!;
    const transient = peak! - before! - held;
    console.log(
      `${kind.padEnd(11)} held once loaded ${mb(held)} (${(held / modelBytes).toFixed(2)}× the model), ` +
        `peak while loading ${mb(peak! - before!)}: ${mb(transient)} above what stays ` +
        `(${(transient / largestGraph).toFixed(2)}× the largest graph, ${(transient / modelBytes).toFixed(2)}× the model)`,
    );
  }
}

runCli(main);
