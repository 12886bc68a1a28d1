/** `export --from-hub`: fetch a DalleBart repo and the pinned VQGAN repo in the official layout. */
import { join } from 'node:path';
import { ExpectedError } from '../../src/core/expected-error.ts';
import { downloadHubFiles } from './hub-download.ts';
import type { HubProgress } from './hub-download.ts';

/** The VQGAN repo and revision dalle-mini's inference notebook pins (docs/model-format.md#source-checkpoints). */
export const VQGAN_REPO = 'dalle-mini/vqgan_imagenet_f16_16384';
export const VQGAN_REVISION = 'e93a26e7707683d349bf5d5c41c5b0ef69b677a9';

export interface CheckpointDownload {
  readonly repo: string;
  readonly endpoint: string;
  readonly cacheDir: string;
  readonly revision?: string;
  readonly vqganRepo?: string;
  readonly vqganRevision?: string;
  readonly onProgress?: (p: HubProgress) => void;
  readonly signal?: AbortSignal;
}

export class HubNameError extends ExpectedError {
  override name = 'HubNameError';
}

/**
 * A repo id or revision as one folder name in the cache ("a/b" → "a--b"): plain names only, so that no "..", absolute
 * path or hidden name can place the download (or a file trusted as already verified) outside the cache.
 */
function cacheName(value: string, what: string): string {
  const names = value.split('/');
  if (names.some((name) => !/^\w[\w.-]*$/.test(name)))
    throw new HubNameError(
      `${what} "${value}" is not a hub name: use letters, digits, "_", "-" and "." (not first), with "/" between names`,
    );
  return names.join('--');
}

/** Where `downloadCheckpoints` puts the two repos: `<cacheDir>/<repo>/<revision>` folders. */
export function hubCheckpointDirs(options: Omit<CheckpointDownload, 'endpoint'>): { dalle: string; vqgan: string } {
  const vqganRepo = options.vqganRepo ?? VQGAN_REPO;
  const revision = options.revision ?? 'main';
  const vqganRevision = options.vqganRevision ?? VQGAN_REVISION;
  return {
    dalle: join(options.cacheDir, cacheName(options.repo, '--from-hub'), cacheName(revision, '--revision')),
    vqgan: join(options.cacheDir, cacheName(vqganRepo, '--vqgan-repo'), cacheName(vqganRevision, '--vqgan-revision')),
  };
}

/** Downloads (resuming, verified) into the folders `hubCheckpointDirs` names and returns them. */
export async function downloadCheckpoints(options: CheckpointDownload): Promise<{ dalle: string; vqgan: string }> {
  const revision = options.revision ?? 'main';
  const vqganRepo = options.vqganRepo ?? VQGAN_REPO;
  const vqganRevision = options.vqganRevision ?? VQGAN_REVISION;
  const { dalle, vqgan } = hubCheckpointDirs(options);
  const common = { endpoint: options.endpoint, onProgress: options.onProgress, signal: options.signal };
  const repo = options.repo;
  await downloadHubFiles({
    ...common,
    destDir: dalle,
    files: [
      ...['config.json', 'flax_model.msgpack', 'vocab.json', 'merges.txt'].map((file) => ({ repo, revision, file })),
      // The hashtag splitter's word list: optional, the normalizer degrades without it.
      { repo, revision, file: 'enwiki-words-frequency.txt', optional: true },
    ],
  });
  await downloadHubFiles({
    ...common,
    destDir: vqgan,
    files: ['config.json', 'flax_model.msgpack'].map((file) => ({ repo: vqganRepo, revision: vqganRevision, file })),
  });
  return { dalle, vqgan };
}
