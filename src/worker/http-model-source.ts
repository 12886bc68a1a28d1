/**
 * A model folder served over HTTP as a `ModelSource`: manifest.json first, then each file on demand,
 * only from under the model's folder URL, its size checked (Content-Length, then bytes received)
 * before and while it downloads, and its sha256 before ONNX Runtime sees it.
 */
import { checkDeclaredSize, ModelFileUnavailableError, overrunError } from '../model/integrity.ts';
import { ManifestError } from '../model/manifest.ts';
import { parseStoredManifest } from '../model/stored-manifest.ts';
import type { StoredManifest } from '../model/stored-manifest.ts';
import type { ManifestFile, ModelManifest } from '../model/manifest.ts';
import { verifiedModelSource } from '../model/verified-source.ts';
import type { ModelSource } from '../model/model-source.ts';
import {
  BodyTooLargeError,
  isWebPageResponse,
  looksLikeWebPage,
  plainContentLength,
  readBoundedBody,
  modelFileUrl,
  modelFolderUrl,
} from '../store/model-http.ts';

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface HttpModelOptions {
  readonly fetch?: Fetch;
  readonly signal?: AbortSignal;
  /** Bytes of `file` received so far (called as chunks arrive). */
  readonly onBytes?: (file: string, loaded: number) => void;
}

/** A manifest is a few kilobytes; anything past this is not one. */
const MAX_MANIFEST_BYTES = 1 << 20;

const WEB_PAGE =
  'the server returned a web page instead of the file (static hosts answer unknown paths with their index.html)';

async function fetchFile(fetchFn: Fetch, url: string, signal: AbortSignal | undefined): Promise<Response> {
  const response = await fetchFn(url, signal ? { signal } : {});
  if (!response.ok) {
    await response.body?.cancel();
    throw new ModelFileUnavailableError(
      url,
      `the server answered HTTP ${response.status} ${response.statusText}`.trim(),
      response.status,
    );
  }
  return response;
}

/** The folder's manifest.json, of either kind (a DALL·E model or a CLIP ranker). */
export async function fetchManifest(baseUrl: string, options: HttpModelOptions = {}): Promise<StoredManifest> {
  const url = modelFileUrl(modelFolderUrl(baseUrl), 'manifest.json');
  const response = await fetchFile(options.fetch ?? fetch, url, options.signal);
  if (isWebPageResponse(response)) {
    await response.body?.cancel();
    throw new ModelFileUnavailableError(url, `${WEB_PAGE}; check the model URL`);
  }
  let json: unknown;
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readBoundedBody(response, MAX_MANIFEST_BYTES);
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    if (error instanceof BodyTooLargeError)
      throw new ManifestError(
        `${url} is larger than ${MAX_MANIFEST_BYTES} bytes, so it is not a model manifest. Check the model URL.`,
      );
    // A host's index.html served as plain text (no text/html type) is still a missing folder, not a broken export.
    if (bytes && looksLikeWebPage(bytes)) throw new ModelFileUnavailableError(url, `${WEB_PAGE}; check the model URL`);
    throw new ManifestError(
      `${url} is not valid JSON (${(error as Error).name}). Export the model again (npm run export).`,
    );
  }
  return parseStoredManifest(json, url);
}

/** One file's bytes, refused before buffering when the server says another size, cut off past the declared size. */
async function readModelFile(
  response: Response,
  entry: ManifestFile,
  url: string,
  onChunk: (loaded: number) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  const webPage = isWebPageResponse(response);
  const declared = plainContentLength(response);
  if (declared !== undefined && declared !== entry.bytes) {
    await response.body?.cancel();
    if (webPage) throw new ModelFileUnavailableError(url, WEB_PAGE);
    checkDeclaredSize(entry, declared, url);
  }
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await readBoundedBody(response, entry.bytes, onChunk);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    throw webPage ? new ModelFileUnavailableError(url, WEB_PAGE) : overrunError(entry, url);
  }
  // A short answer that is a web page is a missing file, not a corrupted one.
  if (bytes.byteLength !== entry.bytes && (webPage || looksLikeWebPage(bytes)))
    throw new ModelFileUnavailableError(url, WEB_PAGE);
  return bytes;
}

/** Files of `manifest` fetched from under `baseUrl` when ONNX Runtime or the tokenizer asks for them. */
export function httpModelSource<M extends StoredManifest = ModelManifest>(
  baseUrl: string,
  manifest: M,
  options: HttpModelOptions = {},
): ModelSource<M> {
  const folder = modelFolderUrl(baseUrl);
  const fetchFn = options.fetch ?? fetch;
  return verifiedModelSource(manifest, modelFileUrl(folder, 'manifest.json'), {
    locate: (path) => modelFileUrl(folder, path),
    async read(entry, url) {
      const response = await fetchFile(fetchFn, url, options.signal);
      return readModelFile(response, entry, url, (loaded) => options.onBytes?.(entry.path, loaded));
    },
  });
}
