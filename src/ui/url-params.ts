/** Options read from the page URL: `?backend=wasm|webgpu` forces a backend (the e2e tests use it), `?model=<id>` picks a catalog model. */
import { BACKENDS, isBackendName } from '../worker/protocol.ts';
import type { BackendName } from '../worker/protocol.ts';
import { t } from './i18n.ts';

export interface UrlOptions {
  readonly backend?: BackendName;
  readonly model?: string;
  /** Set when a parameter had a value we do not understand. */
  readonly problem?: string;
}

export function readUrlOptions(search: string): UrlOptions {
  const params = new URLSearchParams(search);
  const model = params.get('model') || undefined;
  const picked = model === undefined ? {} : { model };
  const backend = params.get('backend');
  if (backend === null || backend === '' || backend === 'auto') return picked;
  if (isBackendName(backend)) return { ...picked, backend };
  return {
    ...picked,
    problem: t('errors.unknownBackend', { value: backend, expected: BACKENDS.join(' / ') }),
  };
}
