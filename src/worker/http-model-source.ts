/**
 * A model folder served over HTTP as a `ModelSource`: manifest.json first, then each file on demand,
 * checked against the manifest's size and sha256 (crypto.subtle) before ONNX Runtime sees it.
 */
import { IntegrityError } from '../model/integrity.ts';
import { ManifestError, parseManifest } from '../model/manifest.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { ModelSource } from '../pipeline/runtime.ts';
import { InsecureContextError } from './errors.ts';

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export interface HttpModelOptions {
  readonly fetch?: Fetch;
  readonly signal?: AbortSignal;
  /** Bytes of `file` received so far (called as chunks arrive). */
  readonly onBytes?: (file: string, loaded: number) => void;
}

async function fetchOk(fetchFn: Fetch, url: string, signal: AbortSignal | undefined): Promise<Response> {
  const response = await fetchFn(url, signal ? { signal } : {});
  if (!response.ok) throw new ManifestError(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  return response;
}

/** Reads the body chunk by chunk so progress can be reported while it downloads. */
async function readBody(response: Response, expectedBytes: number, onChunk: (loaded: number) => void): Promise<Uint8Array<ArrayBuffer>> {
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onChunk(loaded);
  }
  if (chunks.length === 1 && chunks[0]!.byteLength === expectedBytes) return chunks[0]!;
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  if (!globalThis.crypto?.subtle) throw new InsecureContextError();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function fetchManifest(baseUrl: string, options: HttpModelOptions = {}): Promise<ModelManifest> {
  const url = new URL('manifest.json', baseUrl).href;
  const response = await fetchOk(options.fetch ?? fetch, url, options.signal);
  let json: unknown;
  try {
    json = await response.json();
  } catch (error) {
    throw new ManifestError(`${url} is not valid JSON (${(error as Error).message})`);
  }
  return parseManifest(json, url);
}

/** Files of `manifest` fetched from `baseUrl` when ONNX Runtime or the tokenizer asks for them. */
export function httpModelSource(baseUrl: string, manifest: ModelManifest, options: HttpModelOptions = {}): ModelSource {
  const entries = new Map(manifest.files.map((f) => [f.path, f]));
  const fetchFn = options.fetch ?? fetch;
  return {
    manifest,
    async readFile(path: string): Promise<Uint8Array> {
      const entry = entries.get(path);
      if (!entry) throw new ManifestError(`manifest.json does not list ${path}`);
      const url = new URL(path, baseUrl).href;
      const response = await fetchOk(fetchFn, url, options.signal);
      const bytes = await readBody(response, entry.bytes, (loaded) => options.onBytes?.(path, loaded));
      if (bytes.byteLength !== entry.bytes) throw new IntegrityError(url, `${entry.bytes} bytes`, `${bytes.byteLength} bytes`);
      const sha = await sha256Hex(bytes);
      if (sha !== entry.sha256) throw new IntegrityError(url, `sha256 ${entry.sha256}`, `sha256 ${sha}`);
      return bytes;
    },
  };
}
