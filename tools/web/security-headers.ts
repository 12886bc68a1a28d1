/**
 * The headers every response of the app carries, for `vite` (dev) and `vite preview`, and what the
 * build leaves for static hosts: a CSP meta tag in index.html (for hosts that cannot send headers;
 * it covers the page but not the worker) and a `_headers` file (Netlify and Cloudflare Pages read it).
 */
import type { Plugin } from 'vite';
import { contentSecurityPolicy, metaContentSecurityPolicy } from './content-security-policy.ts';
import type { CspOptions } from './content-security-policy.ts';

/** Cross-origin isolation: WASM threads need SharedArrayBuffer. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export function pageHeaders(options: CspOptions): Record<string, string> {
  return { ...ISOLATION_HEADERS, 'Content-Security-Policy': contentSecurityPolicy(options) };
}

/** For folders whose name carries their version (`ort/1.30.0/`): their files never change. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';

/** `_headers`: every path gets the page headers; files under `immutableDirs` may be cached for good. */
export function headersFile(options: CspOptions, immutableDirs: readonly string[] = []): string {
  const lines = Object.entries(pageHeaders(options)).map(([name, value]) => `  ${name}: ${value}`);
  const immutable = immutableDirs.flatMap((dir) => [`/${dir}*`, `  Cache-Control: ${IMMUTABLE_CACHE}`]);
  return ['/*', ...lines, ...immutable, ''].join('\n');
}

/** Build only: the CSP meta tag first in <head>, and dist/_headers. */
export function securityHeaders(options: CspOptions, immutableDirs: readonly string[] = []): Plugin {
  return {
    name: 'security-headers',
    apply: 'build',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: metaContentSecurityPolicy(options) },
        injectTo: 'head-prepend',
      },
    ],
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '_headers', source: headersFile(options, immutableDirs) });
    },
  };
}
