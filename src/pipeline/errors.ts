/** Errors the pipeline raises on purpose; each says what happened and what to do. */
export class GenerationCancelledError extends Error {
  override name = 'GenerationCancelledError';
  constructor() {
    super('Generation was cancelled.');
  }
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new GenerationCancelledError();
}
