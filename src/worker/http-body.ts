/**
 * Reading HTTP responses whose size we know in advance (model files) or can bound (manifest.json):
 * the body is read into one buffer of that size and cancelled the moment it runs past it, so a
 * server cannot make the worker buffer more than the manifest declares.
 */

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
