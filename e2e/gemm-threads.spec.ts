/**
 * Our own kernels on helper threads in Chromium (src/worker/gemm-helpers.ts): module and shared memory sent to
 * workers, GEMM calls split by columns and attention calls by (row, head) pairs, met through Atomics, the same results
 * as one thread. On a cross-origin isolated
 * page of the preview's origin, without the app.
 */
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { build } from 'vite';
import type { Rollup } from 'vite';
import { ISOLATION_HEADERS } from '../tools/web/security-headers.ts';
import type { GemmThreadsRequest, GemmThreadsResult } from './gemm-threads-worker.ts';

/** One file as a classic script (the production build has no page for these). */
async function script(path: string): Promise<string> {
  const output = (await build({
    configFile: false,
    logLevel: 'silent',
    build: { write: false, minify: false, lib: { entry: path, formats: ['iife'], name: 'gemm' } },
  })) as Rollup.RollupOutput[];
  return output[0]!.output[0].code;
}

test('the int8 GEMM (both kernels) and attention on three threads in the browser give the one-thread result', async ({
  page,
}) => {
  const workerScript = await script(fileURLToPath(new URL('gemm-threads-worker.ts', import.meta.url)));
  const helperScript = await script(fileURLToPath(new URL('../src/worker/gemm-helper.worker.ts', import.meta.url)));
  await page.route('**/gemm-threads-test', (route) =>
    route.fulfill({
      contentType: 'text/html',
      headers: { ...ISOLATION_HEADERS },
      body: '<!doctype html><title>gemm</title>',
    }),
  );
  await page.route('**/gemm-threads-test-worker.js', (route) =>
    route.fulfill({ contentType: 'text/javascript', headers: { ...ISOLATION_HEADERS }, body: workerScript }),
  );
  await page.goto('/gemm-threads-test');
  const result = await page.evaluate(
    (request) =>
      new Promise<GemmThreadsResult | { error: string }>((resolve) => {
        const worker = new Worker('/gemm-threads-test-worker.js');
        worker.addEventListener('message', (event: MessageEvent<GemmThreadsResult | { error: string }>) =>
          resolve(event.data),
        );
        worker.postMessage(request);
      }),
    { threads: 3, helperScript } satisfies GemmThreadsRequest,
  );
  const { fastest, ...rest } = result as GemmThreadsResult;
  expect(rest).toEqual({
    crossOriginIsolated: true,
    equal: true,
    outputs: 6 * 250,
    attentionEqual: true,
    relaxedEqual: true,
  });
  expect(fastest.reason).toMatch(/relaxed SIMD took [\d.]+× dot16's time here/);
});
