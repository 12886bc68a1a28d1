/** Prompt checks that need no model, kept apart so the page bundle does not pull in the normalizer. */
import { ExpectedError } from '../core/expected-error.ts';

/** Longer prompts are refused: only 62 tokens reach the model anyway (the rest is reported as ignored). */
export const MAX_PROMPT_CHARS = 2000;

export class PromptError extends ExpectedError {
  override name = 'PromptError';
}

/** The checks that need no model: the page runs them before a request, the worker again. */
export function checkPromptText(text: string): void {
  if (text.trim() === '') throw new PromptError('Type a prompt to draw');
  // Counted without copying a huge text (a parent page's message, say): each character is at most two code units.
  const length = text.length > 2 * MAX_PROMPT_CHARS ? text.length : [...text].length;
  if (length > MAX_PROMPT_CHARS) {
    throw new PromptError(`The prompt is ${length} characters long; shorten it to at most ${MAX_PROMPT_CHARS}.`);
  }
}
