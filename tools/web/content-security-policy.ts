/**
 * The page's Content-Security-Policy, built in one place for the dev server, `vite preview`, the
 * build's meta tag and the `_headers` file static hosts read. Scripts and workers come only from our
 * own origin (WASM compiled with 'wasm-unsafe-eval', no eval); downloads go only to our origin and
 * the model hosts listed in VITE_MODEL_HOSTS, so a manifest or a bug cannot make the worker fetch
 * from anywhere else.
 */
import { ExpectedError } from '../../src/core/expected-error.ts';

export class CspConfigError extends ExpectedError {
  override name = 'CspConfigError';
}

export interface CspOptions {
  /** Origins models may be downloaded from besides our own (`https://host[:port]`, `*.` wildcards allowed). */
  readonly modelHosts: readonly string[];
  /** Who may frame the page. The app: 'self'; the embed widget (embed.html): '*'. */
  readonly frameAncestors?: string;
  /**
   * Vite's dev server: its React refresh preamble is an inline script, CSS arrives as inline
   * styles, HMR uses a websocket.
   */
  readonly dev?: boolean;
}

const MODEL_HOST = /^https?:\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:[0-9]{1,5})?$/;

/**
 * The model hosts from VITE_MODEL_HOSTS: origins separated by commas or spaces. Only origins, so a
 * typo cannot open the policy (`*`, `https:`, quoted keywords and paths are refused).
 */
export function parseModelHosts(text: string | undefined): string[] {
  const hosts = (text ?? '').split(/[\s,]+/).filter((host) => host !== '');
  for (const host of hosts) {
    if (!MODEL_HOST.test(host)) {
      throw new CspConfigError(
        `VITE_MODEL_HOSTS: ${JSON.stringify(host)} is not an origin; list model hosts as https://host[:port] (or https://*.domain), separated by commas.`,
      );
    }
  }
  return hosts;
}

function directives({ modelHosts, frameAncestors = "'self'", dev = false }: CspOptions): [string, string[]][] {
  return [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'", "'wasm-unsafe-eval'", ...(dev ? ["'unsafe-inline'"] : [])]],
    ['worker-src', ["'self'"]],
    ['connect-src', ["'self'", ...modelHosts, ...(dev ? ['ws:', 'wss:'] : [])]],
    ['img-src', ["'self'", 'data:']],
    ['style-src', ["'self'", ...(dev ? ["'unsafe-inline'"] : [])]],
    ['object-src', ["'none'"]],
    ['base-uri', ["'self'"]],
    ['form-action', ["'self'"]],
    ['frame-ancestors', [frameAncestors]],
  ];
}

/** The policy as an HTTP header value. */
export function contentSecurityPolicy(options: CspOptions): string {
  return directives(options)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

/** The policy for a `<meta http-equiv>` tag: browsers ignore frame-ancestors there (only a header can set it). */
export function metaContentSecurityPolicy(options: CspOptions): string {
  return directives(options)
    .filter(([name]) => name !== 'frame-ancestors')
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}
