/** The page's CSP: one builder for dev, preview, the meta tag and _headers; model hosts only from VITE_MODEL_HOSTS. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  contentSecurityPolicy,
  CspConfigError,
  metaContentSecurityPolicy,
  parseModelHosts,
} from '../tools/web/content-security-policy.ts';
import { headersFile, headersForPath } from '../tools/web/security-headers.ts';

void test('production: own origin only, WASM without eval, model hosts in connect-src and nowhere else', () => {
  const policy = contentSecurityPolicy({ modelHosts: ['https://huggingface.co', 'https://*.hf.co'] });
  assert.equal(
    policy,
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self' https://huggingface.co https://*.hf.co; " +
      "img-src 'self' data:; style-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'",
  );
  assert.doesNotMatch(policy, /'unsafe-inline'|'unsafe-eval'|ws:/);
});

void test('the meta tag leaves out frame-ancestors (browsers honour it only as a header); the embed entry can pass its own', () => {
  assert.doesNotMatch(metaContentSecurityPolicy({ modelHosts: [] }), /frame-ancestors/);
  assert.match(contentSecurityPolicy({ modelHosts: [], frameAncestors: '*' }), /frame-ancestors \*$/);
});

void test('dev adds what Vite needs: the inline React preamble, inline CSS and the HMR websocket', () => {
  const dev = contentSecurityPolicy({ modelHosts: [], dev: true });
  assert.match(dev, /script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'/);
  assert.match(dev, /connect-src 'self' ws: wss:/);
  assert.match(dev, /style-src 'self' 'unsafe-inline'/);
});

void test('VITE_MODEL_HOSTS: origins separated by commas or spaces; anything that would open the policy is refused', () => {
  assert.deepEqual(parseModelHosts(undefined), []);
  assert.deepEqual(parseModelHosts(' https://a.example, https://cdn.b.example:8443  http://localhost:9000 '), [
    'https://a.example',
    'https://cdn.b.example:8443',
    'http://localhost:9000',
  ]);
  for (const bad of [
    '*',
    'https:',
    "'unsafe-eval'",
    'https://a.example/models/',
    'a.example',
    'data:',
    'https://a.example;script-src *',
    'HTTPS://A.EXAMPLE',
  ]) {
    assert.throws(() => parseModelHosts(bad), CspConfigError, bad);
  }
});

void test('_headers: isolation and the policy everywhere; the app framed by itself only, the embed widget by any site', () => {
  const file = headersFile({ modelHosts: [] });
  assert.match(
    file,
    /^\/\*\n {2}Cross-Origin-Opener-Policy: same-origin\n {2}Cross-Origin-Embedder-Policy: require-corp\n {2}Content-Security-Policy: default-src 'self';[^\n]*form-action 'self'\n/,
  );
  const blocks = new Map(
    file
      .trim()
      .split(/\n(?=\/)/)
      .map((block) => [block.split('\n')[0]!, block.split('\n').slice(1).join('\n')]),
  );
  assert.deepEqual([...blocks.keys()], ['/*', '/', '/index.html', '/embed.html', '/embed']);
  // Netlify lets the later rule's header win, Cloudflare Pages applies both: the same framing rule either way.
  assert.doesNotMatch(blocks.get('/*')!, /frame-ancestors|Cross-Origin-Resource-Policy/);
  for (const path of ['/', '/index.html']) {
    assert.match(blocks.get(path)!, /^ {2}Content-Security-Policy: default-src 'self';.*frame-ancestors 'self'$/);
  }
  for (const path of ['/embed.html', '/embed']) {
    assert.match(blocks.get(path)!, /Content-Security-Policy: default-src 'self';.*frame-ancestors \*\n/);
    assert.match(blocks.get(path)!, /Cross-Origin-Resource-Policy: cross-origin$/);
  }
  assert.doesNotMatch(file, /X-Frame-Options/i);
});

void test('dev and preview send the embed headers for the embed page only', () => {
  const embed = headersForPath('/embed.html?origins=https://a.example', { modelHosts: [] });
  assert.match(embed['Content-Security-Policy']!, /frame-ancestors \*$/);
  assert.equal(embed['Cross-Origin-Resource-Policy'], 'cross-origin');
  assert.equal(embed['Cross-Origin-Embedder-Policy'], 'require-corp');
  for (const path of ['/', '/index.html', '/assets/embed-x.js', '/embed.html.map']) {
    const headers = headersForPath(path, { modelHosts: [] });
    assert.match(headers['Content-Security-Policy']!, /frame-ancestors 'self'$/, path);
    assert.equal(headers['Cross-Origin-Resource-Policy'], undefined, path);
  }
});

void test('_headers lets hosts cache the versioned ONNX Runtime folder for good', () => {
  const file = headersFile({ modelHosts: [] }, ['ort/1.30.0/']);
  assert.match(file, /\n\/ort\/1\.30\.0\/\*\n {2}Cache-Control: public, max-age=31536000, immutable\n$/);
});
