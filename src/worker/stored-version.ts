/**
 * The whole version of a model stored before an update that did not finish: what loads while the update's files
 * cannot be reached (offline), so a visitor keeps the model they had.
 */
import { ModelFileUnavailableError } from '../model/integrity.ts';
import type { StoredManifest } from '../model/stored-manifest.ts';
import { DownloadHttpError, DownloadInterruptedError } from '../store/errors.ts';
import { modelFileUrl, modelFolderUrl } from '../store/model-http.ts';
import type { ModelStore } from '../store/model-store.ts';
import { storedModelId } from '../store/records.ts';
import type { Fetch } from './http-model-source.ts';

/** How long the reachability check waits for the host's first answer. */
const PROBE_MS = 5000;

/**
 * An update whose files cannot be fetched (offline, while the service worker still answers with the new manifest.json
 * it kept): the whole version stored before it loads instead, if there is one of the same kind. Undefined otherwise,
 * and for errors the network does not explain (a wrong sha256, a full disk, the visitor's Stop).
 */
export async function wholeVersionInstead<M extends StoredManifest>(
  models: ModelStore,
  folder: string,
  manifest: M,
  error: unknown,
): Promise<M | undefined> {
  const unreachable =
    error instanceof DownloadInterruptedError ||
    error instanceof DownloadHttpError ||
    error instanceof ModelFileUnavailableError;
  return unreachable ? storedWhole(models, folder, manifest) : undefined;
}

/** The whole version of `manifest`'s model stored from `folder` before it, if there is one. */
async function storedWhole<M extends StoredManifest>(
  models: ModelStore,
  folder: string,
  manifest: M,
): Promise<M | undefined> {
  const whole = await models.manifestFrom(folder);
  if (!whole || whole.format !== manifest.format || storedModelId(whole) !== storedModelId(manifest)) return undefined;
  if (!(await models.status(whole)).complete) return undefined;
  // Same format and id as `manifest`: the same kind of model, an older version of it.
  return whole as M;
}

/**
 * For `inspect`: the whole stored version when `manifest` (an unfinished update) cannot be completed now, because a
 * file it lacks cannot be reached (offline; the service worker may still answer with the update's manifest.json).
 * One request for the first byte of a missing file, made only in that state, as a resumed download asks (a host
 * whose CORS rules cover GET with Range answers it; HEAD may not be allowed); any answer at all means the host is
 * there, and the update is offered.
 */
export async function wholeIfUnreachable<M extends StoredManifest>(
  models: ModelStore,
  folder: string,
  manifest: M,
  fetchFn: Fetch,
): Promise<M | undefined> {
  const whole = await storedWhole(models, folder, manifest);
  if (!whole) return undefined;
  for (const file of manifest.files) {
    if (await models.files.isComplete(file)) continue;
    try {
      // Past a few seconds a barely working connection counts as none: the page is not left on "Checking…".
      const answer = await fetchFn(modelFileUrl(modelFolderUrl(folder), file.path), {
        headers: { Range: 'bytes=0-0' },
        cache: 'no-store',
        signal: AbortSignal.timeout(PROBE_MS),
      });
      await answer.body?.cancel();
      return undefined;
    } catch {
      return whole;
    }
  }
  return undefined;
}
