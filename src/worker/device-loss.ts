/**
 * A failure that came because the GPU went away (driver reset, another tab, out of memory) says so, rather than with
 * ONNX Runtime's internal message: the page then starts a fresh worker, the only way back to a GPU.
 */
import { DownloadCancelledError } from '../store/errors.ts';
import { GenerationCancelledError } from '../pipeline/errors.ts';
import { DeviceLostError } from './errors.ts';

/** The promise's value if it settles within `ms`, else undefined (also when it rejects). */
async function settledWithin<T>(promise: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!promise) return undefined;
  let clear = (): void => undefined;
  const timeout = new Promise<undefined>((resolve) => {
    const timer = setTimeout(resolve, ms);
    clear = () => clearTimeout(timer);
  });
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clear();
  }
}

/** `error`, or DeviceLostError when the device was lost (its loss reported within 200 ms). */
export async function explainedByDeviceLoss(error: unknown, deviceLost: Promise<string> | undefined): Promise<unknown> {
  if (error instanceof GenerationCancelledError || error instanceof DownloadCancelledError) return error;
  const reason = await settledWithin(deviceLost, 200);
  return reason === undefined ? error : new DeviceLostError(reason);
}
