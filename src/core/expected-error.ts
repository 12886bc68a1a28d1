/**
 * The base of every error a person can act on: a bad flag, a corrupt or missing file, a refused
 * path, settings out of range. Its message is the whole story (what happened, what to do next),
 * so the CLIs print it as one line without a stack; any other error is a bug and keeps its stack.
 */
export class ExpectedError extends Error {
  override name = 'ExpectedError';
}
