/** A failure during a drawing or a load explained by a lost GPU says so; anything else keeps its own words. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GenerationCancelledError } from '../src/pipeline/errors.ts';
import { DownloadCancelledError } from '../src/store/errors.ts';
import { explainedByDeviceLoss } from '../src/worker/device-loss.ts';
import { DeviceLostError } from '../src/worker/errors.ts';

void test('a lost device names the failure; a device not lost, one never set up, and a cancel do not', async () => {
  const failure = new Error('[WebGPU] Kernel "MatMul" failed');
  const lost = await explainedByDeviceLoss(failure, Promise.resolve('driver reset'));
  assert.ok(lost instanceof DeviceLostError && /driver reset/.test(lost.message));
  assert.equal(await explainedByDeviceLoss(failure, new Promise<string>(() => undefined)), failure);
  // ORT never made a device (the load failed before its first session): watching it fails, the error stays.
  assert.equal(await explainedByDeviceLoss(failure, Promise.reject(new TypeError('no device'))), failure);
  assert.equal(await explainedByDeviceLoss(failure, undefined), failure);
  for (const cancelled of [new GenerationCancelledError(), new DownloadCancelledError()])
    assert.equal(await explainedByDeviceLoss(cancelled, Promise.resolve('driver reset')), cancelled);
});
