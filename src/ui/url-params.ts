/** Options read from the page URL: `?backend=wasm|webgpu` forces a backend (the e2e tests use it). */
import { BACKENDS, isBackendName } from '../worker/protocol.ts';
import type { BackendName } from '../worker/protocol.ts';

export interface UrlOptions {
  readonly backend?: BackendName;
  /** Set when a parameter had a value we do not understand. */
  readonly problem?: string;
}

export function readUrlOptions(search: string): UrlOptions {
  const backend = new URLSearchParams(search).get('backend');
  if (backend === null || backend === '' || backend === 'auto') return {};
  if (isBackendName(backend)) return { backend };
  return { problem: `Unknown ?backend=${backend}; expected ${BACKENDS.join(' or ')}. Choosing automatically.` };
}
