/** The page's CSP: one builder for dev, preview, the meta tag and _headers; model hosts only from VITE_MODEL_HOSTS. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  contentSecurityPolicy,
  CspConfigError,
  metaContentSecurityPolicy,
  parseModelHosts,
} from '../tools/web/content-security-policy.ts';
import { headersFile } from '../tools/web/security-headers.ts';

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

void test('_headers sends the isolation headers and the CSP for every path', () => {
  const file = headersFile({ modelHosts: [] });
  assert.match(
    file,
    /^\/\*\n {2}Cross-Origin-Opener-Policy: same-origin\n {2}Cross-Origin-Embedder-Policy: require-corp\n {2}Content-Security-Policy: default-src 'self';/,
  );
});

void test('_headers lets hosts cache the versioned ONNX Runtime folder for good', () => {
  const file = headersFile({ modelHosts: [] }, ['ort/1.30.0/']);
  assert.match(file, /\n\/ort\/1\.30\.0\/\*\n {2}Cache-Control: public, max-age=31536000, immutable\n$/);
});
