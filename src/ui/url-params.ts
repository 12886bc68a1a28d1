/** Options read from the page URL: `?backend=wasm|webgpu` forces a backend (the e2e tests use it), `?model=<id>` picks a catalog model. */
import { BACKENDS, isBackendName } from '../worker/protocol.ts';
import type { BackendName } from '../worker/protocol.ts';

export interface UrlOptions {
  readonly backend?: BackendName;
  readonly model?: string;
  /** `?rank=on|off`: CLIP ranking on or off, whatever the device's default. */
  readonly rank?: boolean;
  /** Set when a parameter had a value we do not understand. */
  readonly problem?: string;
}

export function readUrlOptions(search: string): UrlOptions {
  const params = new URLSearchParams(search);
  const model = params.get('model') || undefined;
  const rankText = params.get('rank');
  const rank = rankText === 'on' ? { rank: true } : rankText === 'off' ? { rank: false } : {};
  const picked = { ...(model === undefined ? {} : { model }), ...rank };
  const backend = params.get('backend');
  if (backend === null || backend === '' || backend === 'auto') return picked;
  if (isBackendName(backend)) return { ...picked, backend };
  return {
    ...picked,
    problem: `Unknown ?backend=${backend}; expected ${BACKENDS.join(' or ')}. Choosing automatically.`,
  };
}
