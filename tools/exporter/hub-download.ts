/**
 * Downloads checkpoint files from the Hugging Face hub for `export --from-hub`. Checkpoints are
 * gigabytes, so downloads resume (a `.part` file plus a Range request), are verified against the
 * sha256 the hub publishes for LFS files, and are skipped on later runs once verified.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExpectedError } from '../../src/core/expected-error.ts';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

export interface HubFileRequest {
  readonly repo: string;
  readonly revision: string;
  readonly file: string;
  /** A 404 skips the file instead of failing (e.g. tokenizer files some repos lack). */
  readonly optional?: boolean;
}

export interface HubProgress {
  readonly file: string;
  /** Bytes on disk for this file, resumed bytes included. */
  readonly loaded: number;
  /** Undefined while the server has not said how big the file is. */
  readonly total: number | undefined;
}

export interface HubDownloadOptions {
  /** Defaults to {@link DEFAULT_HUB_ENDPOINT}; a mirror or a test server otherwise. */
  readonly endpoint?: string | undefined;
  readonly files: readonly HubFileRequest[];
  readonly destDir: string;
  readonly onProgress?: ((p: HubProgress) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly fetchImpl?: typeof fetch | undefined;
}

export class HubDownloadError extends ExpectedError {
  override readonly name = 'HubDownloadError';
}

interface Context {
  readonly endpoint: string;
  readonly destDir: string;
  readonly fetch: typeof fetch;
  readonly signal: AbortSignal | undefined;
  readonly report: (p: HubProgress) => void;
}

interface LocalPaths {
  readonly final: string;
  readonly part: string;
  readonly sidecar: string;
}

/** What the hub promises about a file; undefined where it does not say. */
interface Expected {
  readonly sha256: string | undefined;
  readonly size: number | undefined;
}

/**
 * Downloads every requested file to `destDir/<file>` and returns file → local path. Optional files
 * the hub does not have are left out of the map. File names must be unique across the request,
 * since they share `destDir`.
 */
export async function downloadHubFiles(options: HubDownloadOptions): Promise<Map<string, string>> {
  const ctx: Context = {
    endpoint: (options.endpoint ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, ''),
    destDir: options.destDir,
    fetch: options.fetchImpl ?? fetch,
    signal: options.signal,
    report: options.onProgress ?? (() => undefined),
  };
  checkFileNames(options.files);
  const result = new Map<string, string>();
  // One at a time: the files are few, and parallel multi-GB streams would only split the bandwidth.
  for (const req of options.files) {
    const local = await downloadOne(req, ctx);
    if (local !== undefined) result.set(req.file, local);
  }
  return result;
}

function checkFileNames(files: readonly HubFileRequest[]): void {
  const seen = new Set<string>();
  for (const { file } of files) {
    const parts = file.split('/');
    if (path.isAbsolute(file) || parts.some((s) => s === '' || s === '.' || s === '..')) {
      throw new HubDownloadError(`invalid hub file name '${file}': expected a relative path`);
    }
    if (seen.has(file)) {
      throw new HubDownloadError(`'${file}' is requested twice; download each repo to its own destDir`);
    }
    seen.add(file);
  }
}

function describe(req: HubFileRequest): string {
  return `${req.repo}@${req.revision}: ${req.file}`;
}

export function hubFileUrl(endpoint: string, req: HubFileRequest): string {
  const file = req.file.split('/').map(encodeURIComponent).join('/');
  // The revision is one segment even when it holds slashes (refs/pr/1), as huggingface_hub sends it.
  return `${endpoint}/${req.repo}/resolve/${encodeURIComponent(req.revision)}/${file}`;
}

async function downloadOne(req: HubFileRequest, ctx: Context): Promise<string | undefined> {
  const paths = localPaths(ctx.destDir, req.file);
  await mkdir(path.dirname(paths.final), { recursive: true });
  if (await isAlreadyComplete(req, paths, ctx)) return paths.final;
  // A second attempt only when the server refuses to continue the .part file (see Transfer).
  for (let attempt = 0; attempt < 2; attempt++) {
    const outcome = await transfer(req, paths, ctx);
    if (outcome === 'missing') return undefined;
    if (outcome === 'done') return paths.final;
    await rm(paths.part, { force: true });
  }
  throw new HubDownloadError(`${describe(req)}: the server would not serve the file from the start`);
}

function localPaths(destDir: string, file: string): LocalPaths {
  const final = path.join(destDir, ...file.split('/'));
  return { final, part: `${final}.part`, sidecar: `${final}.sha256` };
}

async function fileSize(p: string): Promise<number | undefined> {
  try {
    return (await stat(p)).size;
  } catch {
    return undefined;
  }
}

/** The sidecar is in `sha256sum` format so the files can be re-checked with `sha256sum -c`. */
async function readSidecar(p: string): Promise<string | undefined> {
  try {
    return /^([0-9a-f]{64})\s/.exec(await readFile(p, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

async function writeSidecar(paths: LocalPaths, sha256: string): Promise<void> {
  await writeFile(paths.sidecar, `${sha256}  ${path.basename(paths.final)}\n`);
}

/**
 * A sidecar means a previous run verified the file, so no request is made (offline re-runs work).
 * A final file without one (say, copied in by hand) is checked against the hub's size and hash.
 */
async function isAlreadyComplete(req: HubFileRequest, paths: LocalPaths, ctx: Context): Promise<boolean> {
  const size = await fileSize(paths.final);
  if (size === undefined) return false;
  if ((await readSidecar(paths.sidecar)) !== undefined) {
    ctx.report({ file: req.file, loaded: size, total: size });
    return true;
  }
  const head = await hubFetch(req, 'HEAD', {}, ctx);
  await head.response.body?.cancel();
  if (head.response.status !== 200) return false;
  const expected = head.expected.size ?? contentLength(head.response);
  if (expected !== undefined && expected !== size) return false;
  const actual = await sha256File(paths.final);
  if (head.expected.sha256 !== undefined && head.expected.sha256 !== actual) return false;
  await writeSidecar(paths, actual);
  ctx.report({ file: req.file, loaded: size, total: size });
  return true;
}

export async function sha256File(p: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(p)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface HubResponse {
  readonly url: string;
  readonly response: Response;
  readonly expected: Expected;
}

interface Hop {
  readonly url: string;
  readonly headers: Headers;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;

/**
 * Follows redirects by hand: for LFS files the hub answers 302 to a CDN, and only that 302 carries
 * X-Linked-ETag / X-Linked-Size; the CDN's own ETag is not promised to be the sha256.
 */
async function hubFetch(
  req: HubFileRequest,
  method: 'GET' | 'HEAD',
  headers: Record<string, string>,
  ctx: Context,
): Promise<HubResponse> {
  const hops: Hop[] = [];
  let url = hubFileUrl(ctx.endpoint, req);
  for (let i = 0; i <= MAX_REDIRECTS; i++) {
    const response = await fetchOnce(url, method, headers, ctx);
    hops.push({ url, headers: response.headers });
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null) {
      return { url, response, expected: expectedFrom(hops, ctx.endpoint) };
    }
    await response.body?.cancel();
    url = new URL(location, url).toString();
  }
  throw new HubDownloadError(`${describe(req)}: more than ${MAX_REDIRECTS} redirects from ${ctx.endpoint}`);
}

async function fetchOnce(
  url: string,
  method: 'GET' | 'HEAD',
  headers: Record<string, string>,
  ctx: Context,
): Promise<Response> {
  // identity: a gzipped body would make Content-Length disagree with the bytes we write.
  const init: RequestInit = { method, redirect: 'manual', headers: { 'accept-encoding': 'identity', ...headers } };
  if (ctx.signal !== undefined) init.signal = ctx.signal;
  try {
    return await ctx.fetch(url, init);
  } catch (err) {
    if (ctx.signal?.aborted === true) throw err;
    throw new HubDownloadError(
      `could not reach ${url} (${errorText(err)}); check the network or the endpoint and rerun`,
      { cause: err },
    );
  }
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

function expectedFrom(hops: readonly Hop[], endpoint: string): Expected {
  const origin = new URL(endpoint).origin;
  const hubHops = hops.filter((h) => new URL(h.url).origin === origin);
  const linked = firstHeader(hops, 'x-linked-etag') ?? firstHeader(hubHops, 'etag');
  const size = firstHeader(hops, 'x-linked-size');
  return { sha256: linked === undefined ? undefined : parseSha256Etag(linked), size: parseSize(size) };
}

function firstHeader(hops: readonly Hop[], name: string): string | undefined {
  for (const hop of hops) {
    const value = hop.headers.get(name);
    if (value !== null) return value;
  }
  return undefined;
}

/** LFS ETags are the sha256; small files carry a git sha1 instead, which verifies nothing here. */
export function parseSha256Etag(etag: string): string | undefined {
  const bare = etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(bare) ? bare : undefined;
}

function parseSize(text: string | null | undefined): number | undefined {
  const trimmed = text?.trim();
  return trimmed !== undefined && /^\d+$/.test(trimmed) ? Number(trimmed) : undefined;
}

function contentLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding');
  if (encoding !== null && encoding !== 'identity') return undefined;
  return parseSize(response.headers.get('content-length'));
}

/** `bytes 100-199/200` → start and total (undefined for `*`). */
function parseContentRange(text: string | null): { start: number; total: number | undefined } | undefined {
  const m = text === null ? null : /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(text.trim());
  if (m === null || m[1] === undefined || m[2] === undefined) return undefined;
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

// ---------------------------------------------------------------------------------------------
// Transfer

/**
 * 'restart': the server will not continue the .part file (416, or a 206 starting elsewhere), so
 * the caller deletes it and tries once more from zero.
 */
type TransferOutcome = 'done' | 'missing' | 'restart';

async function transfer(req: HubFileRequest, paths: LocalPaths, ctx: Context): Promise<TransferOutcome> {
  const partSize = (await fileSize(paths.part)) ?? 0;
  const headers: Record<string, string> = partSize > 0 ? { range: `bytes=${partSize}-` } : {};
  const { url, response, expected } = await hubFetch(req, 'GET', headers, ctx);
  const plan = planWrite(req, url, response, partSize, expected);
  if (plan === 'missing' || plan === 'restart') {
    await response.body?.cancel();
    return plan;
  }
  const loaded = await receiveBody(req, paths, response, plan, ctx);
  await finish(req, paths, loaded, { sha256: expected.sha256, size: plan.total });
  return 'done';
}

interface WritePlan {
  /** Bytes already in the .part file that this response continues from; 0 overwrites it. */
  readonly offset: number;
  readonly total: number | undefined;
}

function planWrite(
  req: HubFileRequest,
  url: string,
  response: Response,
  partSize: number,
  expected: Expected,
): WritePlan | 'missing' | 'restart' {
  const { status } = response;
  if (status === 404 && req.optional === true) return 'missing';
  if (status === 404) {
    throw new HubDownloadError(
      `${req.file} not found in ${req.repo} at revision ${req.revision} (HTTP 404 from ${url}); ` +
        'check the repo, revision and file name',
    );
  }
  if (status === 416 && partSize > 0) return 'restart';
  if (status === 206) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (range?.start !== partSize) return 'restart';
    return { offset: partSize, total: expected.size ?? range.total };
  }
  // 200 to a Range request: the server sends the whole file, so the .part starts over.
  if (status === 200) return { offset: 0, total: expected.size ?? contentLength(response) };
  throw new HubDownloadError(`${describe(req)}: HTTP ${status} ${response.statusText} from ${url}`);
}

/** Appends the body to the .part file; bytes written before a network error stay for resuming. */
async function receiveBody(
  req: HubFileRequest,
  paths: LocalPaths,
  response: Response,
  plan: WritePlan,
  ctx: Context,
): Promise<number> {
  let loaded = plan.offset;
  ctx.report({ file: req.file, loaded, total: plan.total });
  const handle = await open(paths.part, plan.offset > 0 ? 'a' : 'w');
  try {
    const reader = response.body?.getReader();
    for (;;) {
      const chunk = reader === undefined ? undefined : await readChunk(reader, req, paths, loaded, plan.total, ctx);
      if (chunk === undefined) return loaded;
      await handle.write(chunk);
      loaded += chunk.byteLength;
      ctx.report({ file: req.file, loaded, total: plan.total });
    }
  } finally {
    await handle.close();
  }
}

async function readChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  req: HubFileRequest,
  paths: LocalPaths,
  loaded: number,
  total: number | undefined,
  ctx: Context,
): Promise<Uint8Array | undefined> {
  try {
    const { done, value } = await reader.read();
    return done ? undefined : value;
  } catch (err) {
    if (ctx.signal?.aborted === true) throw err;
    throw interrupted(req, paths, loaded, total, errorText(err), err);
  }
}

function interrupted(
  req: HubFileRequest,
  paths: LocalPaths,
  loaded: number,
  total: number | undefined,
  why: string,
  cause?: unknown,
): HubDownloadError {
  const of = total === undefined ? '' : ` of ${total}`;
  return new HubDownloadError(
    `download of ${describe(req)} interrupted after ${loaded}${of} bytes (${why}); ` +
      `rerun the same command to resume from ${paths.part}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Checks size and hash, then moves the .part file into place; a bad file is deleted. */
async function finish(req: HubFileRequest, paths: LocalPaths, loaded: number, expected: Expected): Promise<void> {
  if (expected.size !== undefined && loaded < expected.size) {
    throw interrupted(req, paths, loaded, expected.size, 'the server closed the response early');
  }
  if (expected.size !== undefined && loaded > expected.size) {
    await rm(paths.part, { force: true });
    throw new HubDownloadError(
      `${describe(req)}: received ${loaded} bytes, expected ${expected.size}; deleted it, rerun to download again`,
    );
  }
  const actual = await sha256File(paths.part);
  if (expected.sha256 !== undefined && actual !== expected.sha256) {
    await rm(paths.part, { force: true });
    throw new HubDownloadError(
      `sha256 mismatch for ${describe(req)}: expected ${expected.sha256}, got ${actual}; ` +
        'deleted the download, rerun to fetch it again',
    );
  }
  await rename(paths.part, paths.final);
  await writeSidecar(paths, actual);
}
