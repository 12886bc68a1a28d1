import { ExpectedError } from '../../src/core/expected-error.ts';

/** A checkpoint that cannot be exported as it is: missing, truncated, corrupt, or of another shape. */
export class CheckpointError extends ExpectedError {
  override name = 'CheckpointError';
}
