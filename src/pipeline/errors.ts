/** Errors the pipeline raises on purpose; each says what happened and what to do. */
import { ExpectedError } from '../core/expected-error.ts';

export class GenerationCancelledError extends ExpectedError {
  override name = 'GenerationCancelledError';
  constructor() {
    super('Generation was cancelled.');
  }
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new GenerationCancelledError();
}
