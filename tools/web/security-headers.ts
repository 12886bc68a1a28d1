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

/** `_headers`: every path gets the page headers. */
export function headersFile(options: CspOptions): string {
  const lines = Object.entries(pageHeaders(options)).map(([name, value]) => `  ${name}: ${value}`);
  return ['/*', ...lines, ''].join('\n');
}

/** Build only: the CSP meta tag first in <head>, and dist/_headers. */
export function securityHeaders(options: CspOptions): Plugin {
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
      this.emitFile({ type: 'asset', fileName: '_headers', source: headersFile(options) });
    },
  };
}
