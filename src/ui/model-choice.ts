/** Pure helpers behind the model picker, the consent panel and the download progress. */
import { modelFolderUrl } from '../model/catalog.ts';
import type { CatalogModel, DeviceCapabilities } from '../model/catalog.ts';
import { formatBytes } from '../store/errors.ts';
import type { BackendName, LoadProgress, StorageReport } from '../worker/protocol.ts';
import type { Progress } from './store.ts';

const GRAPH_LABELS = { encoder: 'text encoder', decoder: 'image decoder', vqgan: 'VQGAN' } as const;

/** "1 min 20 s left", "12 s left". */
function timeLeft(seconds: number): string {
  if (seconds >= 90) return `${Math.round(seconds / 60)} min left`;
  return `${Math.max(1, Math.round(seconds))} s left`;
}

export function loadProgressLabel(progress: LoadProgress, modelName: string): Progress {
  if (progress.stage === 'compile') return { label: `Preparing the ${GRAPH_LABELS[progress.graph]}…`, fraction: null };
  const parts = [`Downloading ${modelName}: ${formatBytes(progress.loaded)} of ${formatBytes(progress.total)}`];
  if (progress.bytesPerSecond !== null) parts.push(`${formatBytes(progress.bytesPerSecond)}/s`);
  if (progress.secondsLeft !== null) parts.push(timeLeft(progress.secondsLeft));
  return { label: parts.join(' · '), fraction: progress.total > 0 ? progress.loaded / progress.total : null };
}

/** Where a model folder is, as a visitor reads it: "this site" or the host name. */
export function hostOf(folderUrl: string, pageOrigin: string): string {
  const url = new URL(folderUrl);
  return url.origin === pageOrigin ? 'this site' : url.host;
}

/** Why the model will not fit, from the page's storage estimate; null when it fits or nobody can tell. */
export function spaceProblem(
  missingBytes: number,
  estimate: { usage?: number; quota?: number } | undefined,
): string | null {
  if (estimate?.quota === undefined) return null;
  const free = Math.max(0, estimate.quota - (estimate.usage ?? 0));
  if (missingBytes <= free) return null;
  return `This browser lets the site store ${formatBytes(free)} more, but the model needs ${formatBytes(missingBytes)}. Free disk space or delete stored models below, then try again.`;
}

/** Catalog ids whose folder is completely stored. */
/**
 * Where "Not now" on the consent panel goes: a model that runs here with no download (the demo), if the site
 * has one.
 */
export function modelWithoutDownload(
  catalog: readonly CatalogModel[],
  unavailable: Readonly<Record<string, string>>,
): CatalogModel | undefined {
  return catalog.find((model) => !model.askBeforeDownload && !(model.id in unavailable));
}

export function storedCatalogIds(
  catalog: readonly CatalogModel[],
  report: StorageReport | null,
  catalogUrl: string,
): Set<string> {
  const stored = new Set(report?.models.filter((m) => m.complete && m.source !== undefined).map((m) => m.source));
  return new Set(catalog.filter((model) => stored.has(modelFolderUrl(model, catalogUrl))).map((model) => model.id));
}

/** What the page can tell about the device before a model is chosen. A forced WASM backend counts as no WebGPU. */
export async function probeDevice(forced: BackendName | undefined): Promise<DeviceCapabilities> {
  const nav: object = globalThis.navigator;
  const memory =
    'deviceMemory' in nav && typeof nav.deviceMemory === 'number' ? { memoryBytes: nav.deviceMemory * 2 ** 30 } : {};
  if (forced === 'wasm' || !('gpu' in nav)) return { webgpu: false, shaderF16: false, ...memory };
  try {
    const gpu = nav.gpu as { requestAdapter(): Promise<{ features: { has(name: string): boolean } } | null> };
    const adapter = await gpu.requestAdapter();
    return { webgpu: adapter !== null, shaderF16: adapter?.features.has('shader-f16') ?? false, ...memory };
  } catch {
    return { webgpu: false, shaderF16: false, ...memory };
  }
}
