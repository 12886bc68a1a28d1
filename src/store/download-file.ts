/**
 * One file from the network into the store: resumed with a Range request from its last stored
 * piece, hashed while it streams, stored piece by piece (one piece in memory at a time) and marked
 * complete only when its size and sha256 match manifest.json.
 */
import { IntegrityError } from '../model/integrity.ts';
import type { ManifestFile } from '../model/manifest.ts';
import { DownloadCancelledError, DownloadHttpError, DownloadInterruptedError } from './errors.ts';
import type { FileStore, ResumePoint } from './file-store.ts';
import { hexDigest, pieceSha256 } from './hashing.ts';
import { isWebPageResponse, plainContentLength } from './model-http.ts';
import type { ProgressTracker } from './progress.ts';

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface FileDownloadContext {
  readonly files: FileStore;
  readonly fetch: Fetch;
  readonly signal: AbortSignal | undefined;
  readonly progress: ProgressTracker;
}

function failure(context: FileDownloadContext, entry: ManifestFile, received: number, error: unknown): Error {
  if (context.signal?.aborted) return new DownloadCancelledError();
  return new DownloadInterruptedError(
    entry.path,
    received,
    entry.bytes,
    error instanceof Error ? error.message : String(error),
  );
}

async function request(
  context: FileDownloadContext,
  entry: ManifestFile,
  url: string,
  offset: number,
): Promise<Response> {
  const init: RequestInit = offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {};
  if (context.signal) init.signal = context.signal;
  try {
    return await context.fetch(url, init);
  } catch (error) {
    throw failure(context, entry, offset, error);
  }
}

/** Answers to a Range request that mean "this server will not resume here"; other errors keep the stored pieces. */
const RESTART_STATUSES: ReadonlySet<number> = new Set([200, 206, 416]);

/**
 * A 206 whose Content-Range starts exactly at `offset` and runs to the end of the file. A cross-origin host that
 * does not list Content-Range in Access-Control-Expose-Headers hides it from the page: its 206 is taken as the
 * range asked for (a server answers `bytes=offset-` with that range), and the file's sha256 still checks every byte.
 */
function answersRange(response: Response, offset: number, bytes: number): boolean {
  if (response.status !== 206) return false;
  const contentRange = response.headers.get('Content-Range');
  if (contentRange === null && response.type === 'cors') return true;
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange ?? '');
  if (!match) return false;
  return (
    Number(match[1]) === offset && Number(match[2]) === bytes - 1 && (match[3] === '*' || Number(match[3]) === bytes)
  );
}

/** Why this response cannot be the file (from `offset` on), or undefined when it can. */
function responseProblem(entry: ManifestFile, url: string, response: Response, offset: number): Error | undefined {
  if (!response.ok)
    return new DownloadHttpError(
      entry.path,
      url,
      `HTTP ${response.status} ${response.statusText}`.trim(),
      response.status,
    );
  // Single-page-app servers answer a missing file with their index page and status 200.
  if (isWebPageResponse(response))
    return new DownloadHttpError(
      entry.path,
      url,
      'the server returned a web page instead of the file (is the file missing there?)',
    );
  const length = plainContentLength(response);
  if (length !== undefined && length !== entry.bytes - offset) {
    return new IntegrityError(entry.path, `${entry.bytes} bytes`, `${offset + length} bytes (Content-Length)`);
  }
  return undefined;
}

/**
 * Throws when the response cannot be the file; a size mismatch (the server holds another file)
 * discards what is stored.
 */
async function checkResponse(
  context: FileDownloadContext,
  entry: ManifestFile,
  url: string,
  response: Response,
  offset: number,
): Promise<void> {
  const problem = responseProblem(entry, url, response, offset);
  if (!problem) return;
  await response.body?.cancel();
  if (problem instanceof IntegrityError) await context.files.discard(entry.sha256);
  throw problem;
}

/** Streams the body into pieces of `start.pieceBytes`, each stored as soon as it is full. */
async function storeBody(
  context: FileDownloadContext,
  entry: ManifestFile,
  response: Response,
  start: ResumePoint,
): Promise<ResumePoint> {
  const { files, progress } = context;
  const { pieceBytes, hasher } = start;
  const pieceHashes = [...start.pieceHashes];
  const nextPiece = (offset: number): Uint8Array<ArrayBuffer> =>
    new Uint8Array(Math.min(pieceBytes, entry.bytes - offset));
  let received = start.offset;
  let piece = nextPiece(received);
  let filled = 0;
  progress.fileLoaded(entry.path, entry.bytes, received);
  const reader = response.body?.getReader();
  try {
    while (reader) {
      if (context.signal?.aborted) throw new DownloadCancelledError();
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw failure(context, entry, received, error);
      }
      if (chunk.done) break;
      const bytes = chunk.value;
      if (received + bytes.byteLength > entry.bytes) {
        await files.discard(entry.sha256);
        throw new IntegrityError(entry.path, `${entry.bytes} bytes`, `more than ${entry.bytes} bytes`);
      }
      for (let used = 0; used < bytes.byteLength;) {
        const take = Math.min(piece.byteLength - filled, bytes.byteLength - used);
        piece.set(bytes.subarray(used, used + take), filled);
        filled += take;
        used += take;
        if (filled < piece.byteLength) continue;
        hasher.update(piece);
        pieceHashes.push(await pieceSha256(piece));
        await files.writePiece(entry, pieceBytes, pieceHashes, piece);
        piece = nextPiece(received + used);
        filled = 0;
      }
      received += bytes.byteLength;
      progress.received(bytes.byteLength);
      progress.fileLoaded(entry.path, entry.bytes, received);
    }
  } catch (error) {
    // Let the connection go; the stream may already be errored, which makes cancel() reject too.
    await reader?.cancel().catch(() => undefined);
    throw error;
  }
  if (received < entry.bytes)
    throw new DownloadInterruptedError(entry.path, received, entry.bytes, 'the server closed the connection early');
  return { pieceBytes, pieceHashes, hasher, offset: received };
}

/**
 * Downloads what `entry` still lacks and marks it complete; throws IntegrityError (the file
 * discarded) on a mismatch.
 */
export async function downloadFile(context: FileDownloadContext, entry: ManifestFile, url: string): Promise<void> {
  const { files, progress } = context;
  progress.fileChecking(entry.path, entry.bytes);
  let point = await files.resume(entry);
  if (point.offset < entry.bytes) {
    let response = await request(context, entry, url, point.offset);
    if (
      point.offset > 0 &&
      !answersRange(response, point.offset, entry.bytes) &&
      RESTART_STATUSES.has(response.status)
    ) {
      // The server ignored the Range header (200) or answered another range: start this file over.
      if (response.status !== 200) {
        await response.body?.cancel();
        response = await request(context, entry, url, 0);
      }
      // Checked before the stored pieces go, so that an error page does not cost them.
      await checkResponse(context, entry, url, response, 0);
      await files.discard(entry.sha256);
      point = files.freshStart();
    } else {
      await checkResponse(context, entry, url, response, point.offset);
    }
    point = await storeBody(context, entry, response, point);
  }
  const actual = hexDigest(point.hasher);
  if (actual !== entry.sha256) {
    await files.discard(entry.sha256);
    throw new IntegrityError(entry.path, `sha256 ${entry.sha256}`, `sha256 ${actual}`);
  }
  await files.markComplete(entry, point);
  progress.fileComplete(entry.path, entry.bytes);
}
