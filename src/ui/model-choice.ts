/** Pure helpers behind the model picker, the consent panel and the download progress. */
import { modelFolderUrl } from '../model/catalog.ts';
import type { CatalogModel, DeviceCapabilities } from '../model/catalog.ts';
import { formatBytes } from '../store/errors.ts';
import type { BackendName, LoadProgress, StorageReport } from '../worker/protocol.ts';
import { t } from './i18n.ts';
import { joinSaid } from './said-again.ts';
import type { Progress } from './store.ts';

/** "1 min 20 s left", "12 s left". */
function timeLeft(seconds: number): string {
  if (seconds >= 90) return t('status.minutesLeft', { count: Math.round(seconds / 60) });
  return t('status.secondsLeft', { count: Math.max(1, Math.round(seconds)) });
}

export function loadProgressLabel(progress: LoadProgress, modelName: string): Progress {
  if (progress.stage === 'compile')
    return { label: t('status.preparing', { graph: t(`graph.${progress.graph}`) }), fraction: null };
  const parts = [
    t('status.downloading', {
      model: modelName,
      loaded: formatBytes(progress.loaded),
      total: formatBytes(progress.total),
    }),
  ];
  if (progress.bytesPerSecond !== null)
    parts.push(t('status.perSecond', { bytes: formatBytes(progress.bytesPerSecond) }));
  if (progress.secondsLeft !== null) parts.push(timeLeft(progress.secondsLeft));
  return { label: joinSaid(parts, ' · '), fraction: progress.total > 0 ? progress.loaded / progress.total : null };
}

/** Where a model folder is, as a visitor reads it: "this site" or the host name. */
export function hostOf(folderUrl: string, pageOrigin: string): string {
  const url = new URL(folderUrl);
  return url.origin === pageOrigin ? t('model.thisSite') : url.host;
}

/** Why the model will not fit, from the page's storage estimate; null when it fits or nobody can tell. */
export function spaceProblem(
  missingBytes: number,
  estimate: { usage?: number; quota?: number } | undefined,
): string | null {
  if (estimate?.quota === undefined) return null;
  const free = Math.max(0, estimate.quota - (estimate.usage ?? 0));
  if (missingBytes <= free) return null;
  return t('consent.noSpace', { free: formatBytes(free), needed: formatBytes(missingBytes) });
}

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
