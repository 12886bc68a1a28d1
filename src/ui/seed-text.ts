/**
 * The seed field's text → the seed, exactly. A number input would round 9007199254740993 to
 * …992 and draw another picture than the one asked for; here digits that do not survive the trip
 * through a JavaScript number are refused with a message instead.
 */

/** The worker accepts seeds up to here (integers a JavaScript number holds exactly). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

export class SeedTextError extends Error {
  override name = 'SeedTextError';
}

const RANGE = `a whole number from 0 to ${MAX_SEED}`;

export function parseSeedText(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new SeedTextError(`Type a seed: ${RANGE}.`);
  if (!/^[0-9]+$/.test(trimmed)) {
    const shown = trimmed.length > 24 ? `${trimmed.slice(0, 24)}…` : trimmed;
    throw new SeedTextError(`The seed "${shown}" is not a whole number: use only the digits 0–9 (${RANGE}).`);
  }
  const digits = trimmed.replace(/^0+(?=[0-9])/, '');
  const seed = Number(digits);
  if (String(seed) !== digits || seed > MAX_SEED) {
    const shown = digits.length > 24 ? `${digits.slice(0, 24)}…` : digits;
    throw new SeedTextError(`The seed ${shown} is too large to use exactly; use ${RANGE}.`);
  }
  return seed;
}

/** The message for the field while the user types, or null when the text is a seed. */
export function seedTextProblem(text: string): string | null {
  try {
    parseSeedText(text);
    return null;
  } catch (error) {
    if (error instanceof SeedTextError) return error.message;
    throw error;
  }
}
