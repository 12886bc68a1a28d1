/**
 * The headers every response of the app carries, for `vite` (dev) and `vite preview`, and what the
 * build leaves for static hosts: a CSP meta tag in each page (for hosts that cannot send headers;
 * it covers the page but not the worker) and a `_headers` file (Netlify and Cloudflare Pages read it).
 *
 * Framing differs per page: the app (`/`, `/index.html`) may be framed only by itself, the embed
 * widget (`/embed.html`) by any site, so the widget also sends `Cross-Origin-Resource-Policy:
 * cross-origin`, which a cross-origin-isolated parent requires of the frames it embeds.
 */
import type { Connect, Plugin } from 'vite';
import { contentSecurityPolicy, metaContentSecurityPolicy } from './content-security-policy.ts';
import type { CspOptions } from './content-security-policy.ts';

/** Cross-origin isolation: WASM threads need SharedArrayBuffer. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** The embed widget's paths (static hosts serve `embed.html` as `/embed` too). */
export const EMBED_PATHS = ['/embed.html', '/embed'] as const;
/** The app's own page. */
export const APP_PATHS = ['/', '/index.html'] as const;

/** The headers for the app's own page (and, in dev and preview, every other response). */
export function pageHeaders(options: CspOptions): Record<string, string> {
  return { ...ISOLATION_HEADERS, 'Content-Security-Policy': contentSecurityPolicy(options) };
}

/** The embed widget: any site may frame it, isolated parents included (they require CORP of their frames). */
export function embedHeaders(options: CspOptions): Record<string, string> {
  return {
    ...pageHeaders({ ...options, frameAncestors: '*' }),
    'Cross-Origin-Resource-Policy': 'cross-origin',
  };
}

/** The headers for a path relative to the base (`/embed.html?x` → the embed's), for the dev and preview servers. */
export function headersForPath(path: string, options: CspOptions): Record<string, string> {
  const pathname = path.split(/[?#]/)[0] ?? '';
  return (EMBED_PATHS as readonly string[]).includes(pathname) ? embedHeaders(options) : pageHeaders(options);
}

/** For folders whose name carries their version (`ort/1.30.0/`): their files never change. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';

/**
 * `_headers`; files under `immutableDirs` may be cached for good. Hosts combine the rules that match a path
 * differently (Netlify lets the later rule's
 * header win, Cloudflare Pages joins both values with a comma, which for a CSP means both policies
 * apply), so every path gets a policy without frame-ancestors, and each page repeats the whole
 * policy with its own: the same result under either reading.
 */
export function headersFile(options: CspOptions, immutableDirs: readonly string[] = []): string {
  const common = { ...ISOLATION_HEADERS, 'Content-Security-Policy': metaContentSecurityPolicy(options) };
  // One block per path: not every host reads several paths over one block of headers.
  const rule = (paths: readonly string[], headers: Record<string, string>): string[] =>
    paths.flatMap((path) => [path, ...Object.entries(headers).map(([name, value]) => `  ${name}: ${value}`)]);
  const embed = embedHeaders(options);
  return [
    ...rule(['/*'], common),
    ...rule(APP_PATHS, { 'Content-Security-Policy': contentSecurityPolicy(options) }),
    ...rule(EMBED_PATHS, {
      'Content-Security-Policy': embed['Content-Security-Policy']!,
      'Cross-Origin-Resource-Policy': embed['Cross-Origin-Resource-Policy']!,
    }),
    ...rule(
      immutableDirs.map((dir) => `/${dir}*`),
      { 'Cache-Control': IMMUTABLE_CACHE },
    ),
    '',
  ].join('\n');
}

/**
 * Dev and preview: the embed page's headers replace the ones Vite's servers set from
 * `server.headers` / `preview.headers` (they set them later, while sending the file).
 */
function perPathHeaders(options: CspOptions, base: string): Connect.NextHandleFunction {
  return (req, res, next) => {
    const url = req.url ?? '/';
    const path = url.startsWith(base) ? `/${url.slice(base.length)}` : url;
    if (!(EMBED_PATHS as readonly string[]).includes(path.split(/[?#]/)[0] ?? '')) return next();
    const headers = new Map(
      Object.entries(headersForPath(path, options)).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const setHeader = res.setHeader.bind(res);
    res.setHeader = (name, value) => setHeader(name, headers.get(name.toLowerCase()) ?? value);
    for (const [name, value] of headers) setHeader(name, value);
    next();
  };
}

/** Build: the CSP meta tag first in each page's <head>, and dist/_headers. Dev and preview: headers per path. */
export function securityHeaders(options: CspOptions, immutableDirs: readonly string[] = []): Plugin {
  let base = '/';
  let command: 'build' | 'serve' = 'serve';
  return {
    name: 'security-headers',
    configResolved(config) {
      base = config.base;
      command = config.command;
    },
    configureServer(server) {
      server.middlewares.use(perPathHeaders({ ...options, dev: true }, base));
    },
    configurePreviewServer(server) {
      server.middlewares.use(perPathHeaders(options, base));
    },
    transformIndexHtml: () =>
      command === 'build'
        ? [
            {
              tag: 'meta',
              attrs: { 'http-equiv': 'Content-Security-Policy', content: metaContentSecurityPolicy(options) },
              injectTo: 'head-prepend',
            },
          ]
        : [],
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: '_headers', source: headersFile(options, immutableDirs) });
    },
  };
}
