/**
 * Model files over HTTP, for the store's downloader and the manifest fetch alike: URLs confined to
 * the model's folder, the Content-Length that can be trusted, web pages answered for missing files,
 * and bodies read into one buffer of a known size and cancelled the moment they run past it, so a
 * server cannot make the worker buffer more than the manifest declares.
 */
import { ManifestError } from '../model/manifest.ts';
import { outsideModelError } from '../model/verified-source.ts';

/** Raised by `readBoundedBody` when more than `limit` bytes arrive; the body is cancelled by then. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  constructor(readonly limit: number) {
    super(`The response body runs past ${limit} bytes; reading stopped there.`);
  }
}

/**
 * The Content-Length header when it is the size of the body we will read: not with gzip or br (it
 * counts the encoded bytes), and not for cross-origin responses, whose Content-Encoding is hidden.
 */
export function plainContentLength(response: Response): number | undefined {
  if (response.type === 'cors' || response.type === 'opaque') return undefined;
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding.trim().toLowerCase() !== 'identity') return undefined;
  const length = response.headers.get('content-length')?.trim();
  return length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : undefined;
}

/** True when the server labelled the response a web page (what SPA hosts send for unknown paths). */
export function isWebPageResponse(response: Response): boolean {
  return /^\s*text\/html\b/i.test(response.headers.get('content-type') ?? '');
}

/** True when bytes start like an HTML document, for servers that label nothing. */
export function looksLikeWebPage(bytes: Uint8Array): boolean {
  const start = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  return start.startsWith('<!doctype html') || start.startsWith('<html');
}

/**
 * Reads at most `limit` bytes of the body into one buffer, reporting progress per chunk. Returns
 * fewer bytes if the body is shorter; throws BodyTooLargeError (after cancelling) if it is longer.
 */
export async function readBoundedBody(
  response: Response,
  limit: number,
  onChunk?: (loaded: number) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  const buffer = new Uint8Array(limit);
  let loaded = 0;
  const body = response.body;
  if (!body) {
    const whole = new Uint8Array(await response.arrayBuffer());
    if (whole.byteLength > limit) throw new BodyTooLargeError(limit);
    return whole;
  }
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > limit) {
      await reader.cancel();
      throw new BodyTooLargeError(limit);
    }
    buffer.set(value, loaded);
    loaded += value.byteLength;
    onChunk?.(loaded);
  }
  return loaded === limit ? buffer : buffer.slice(0, loaded);
}

/** The model's folder URL: http(s) only, ending in `/` so relative names resolve inside it. */
export function modelFolderUrl(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ManifestError(
      `The model URL ${JSON.stringify(baseUrl.slice(0, 200))} is not an absolute URL; give the model folder as http(s)://…/.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ManifestError(`The model URL ${url.href} is not http(s); serve the model folder over HTTP(S).`);
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** `path` resolved under `folder`, refused if it would leave the folder (other origin, `..`, escapes). */
export function modelFileUrl(folder: URL, path: string): string {
  const url = new URL(path, folder);
  if (
    url.origin !== folder.origin ||
    !url.pathname.startsWith(folder.pathname) ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw outsideModelError(JSON.stringify(path.slice(0, 200)), folder.href);
  }
  return url.href;
}
