import { ExpectedError } from '../expected-error.ts';

/** Raised when a model file's size or sha256 differs from its manifest entry (corrupted or partial download). */
export class IntegrityError extends ExpectedError {
  override name = 'IntegrityError';
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${file} is corrupted: expected ${expected}, got ${actual}. Delete it and download the model again.`);
  }
}
