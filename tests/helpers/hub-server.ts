/**
 * A local stand-in for the Hugging Face hub's `resolve` endpoint, since tests run without network:
 * serves `rootDir/<repo>/<file>` at `/<repo>/resolve/<revision>/<file>` for any revision, with Range
 * support and the sha256 ETag / X-Linked-Size headers the hub sends for LFS files.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sha256 as sha256Of } from './synthetic-model.ts';

export interface HubTestServerOptions {
  /** Close the socket after this many body bytes, once (the first body that is long enough). */
  failAfterBytes?: number;
  /** A file path (as in the URL, e.g. `flax_model.msgpack`) served with one byte flipped. */
  corrupt?: string;
}

export interface HubTestServer {
  endpoint: string;
  close(): Promise<void>;
  /** `GET /<repo>/resolve/<rev>/<file>`, plus ` range=<Range header>` when one was sent. */
  requests: string[];
}

interface ServedFile {
  readonly body: Buffer;
  readonly sha256: string;
}

interface Route {
  readonly repo: string;
  readonly file: string;
}

/** `/<repo>/resolve/<revision>/<file>`; the repo may hold a slash, the revision is one segment. */
function parseRoute(url: string): Route | null {
  const pathname = new URL(url, 'http://localhost').pathname;
  const m = /^\/(.+?)\/resolve\/[^/]+\/(.+)$/.exec(pathname);
  if (m === null || m[1] === undefined || m[2] === undefined) return null;
  const file = m[2].split('/').map(decodeURIComponent).join('/');
  return { repo: decodeURIComponent(m[1]), file };
}

async function loadFile(rootDir: string, route: Route, options: HubTestServerOptions): Promise<ServedFile | null> {
  const full = path.resolve(rootDir, route.repo, route.file);
  if (!full.startsWith(path.resolve(rootDir) + path.sep)) return null;
  let body: Buffer;
  try {
    body = await readFile(full);
  } catch {
    return null;
  }
  // Hash first, then alter: the ETag promises bytes the body does not deliver.
  const sha256 = sha256Of(body);
  if (options.corrupt === route.file && body.length > 0) {
    body = Buffer.from(body);
    body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 0xff;
  }
  return { body, sha256 };
}

/** `bytes=<start>-[<end>]` → inclusive range, or 'unsatisfiable'; null when absent or unparsable. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = header === undefined ? null : /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (m === null || m[1] === undefined) return null;
  const start = Number(m[1]);
  if (start >= size) return 'unsatisfiable';
  const end = m[2] === undefined || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return { start, end };
}

export async function startHubTestServer(rootDir: string, options: HubTestServerOptions = {}): Promise<HubTestServer> {
  const requests: string[] = [];
  let failurePending = options.failAfterBytes !== undefined;

  const send = (res: ServerResponse, body: Buffer, head: boolean): void => {
    const limit = options.failAfterBytes;
    if (head || !failurePending || limit === undefined || body.length <= limit) {
      res.end(head ? undefined : body);
      return;
    }
    failurePending = false;
    // Let the client read the first bytes before the drop, so there is something to resume from.
    res.write(body.subarray(0, limit), () => setTimeout(() => res.socket?.destroy(), 30));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const range = req.headers.range;
    requests.push(`${method} ${req.url ?? ''}${range === undefined ? '' : ` range=${range}`}`);
    const route = parseRoute(req.url ?? '/');
    const served = route === null ? null : await loadFile(rootDir, route, options);
    if (served === null || (method !== 'GET' && method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const size = served.body.length;
    const headers = { etag: `"${served.sha256}"`, 'x-linked-size': String(size), 'accept-ranges': 'bytes' };
    const r = parseRange(range, size);
    if (r === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'content-range': `bytes */${size}` }).end();
      return;
    }
    if (r === null) {
      res.writeHead(200, { ...headers, 'content-length': String(size) });
      send(res, served.body, method === 'HEAD');
      return;
    }
    res.writeHead(206, {
      ...headers,
      'content-length': String(r.end - r.start + 1),
      'content-range': `bytes ${r.start}-${r.end}/${size}`,
    });
    send(res, served.body.subarray(r.start, r.end + 1), method === 'HEAD');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      // Keep-alive sockets would otherwise hold close() open until they time out.
      server.closeAllConnections();
      server.close((err) => (err === undefined ? resolve() : reject(err)));
    });

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    // Idempotent, so a test may close early (to simulate an outage) and still clean up as usual.
    close: () => (closing ??= stop()),
  };
}
