/**
 * The seed space: whole numbers 0 … 2^32 − 1. The sampling PRNG (rng.ts) starts from a 32-bit
 * state, so a wider range could only alias: two seeds that differ above bit 32 would draw the
 * same images. Within this range distinct seeds give distinct streams (splitmix32 is a bijection
 * on the state). The page, the worker and the CLIs all check seeds here.
 */
import { ExpectedError } from './expected-error.ts';

export const MAX_SEED = 2 ** 32 - 1;

export class SeedError extends ExpectedError {
  override name = 'SeedError';
}

export function isValidSeed(seed: number): boolean {
  return Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED;
}

export function checkSeed(seed: number): void {
  if (!isValidSeed(seed)) throw new SeedError(`seed must be a whole number from 0 to ${MAX_SEED}, got ${seed}`);
}

/**
 * Parses a seed typed by a person: decimal digits only (surrounding spaces allowed). Refuses rather
 * than rounds: Number("9007199254740993") is 9007199254740992, a different seed.
 */
export function parseSeed(text: string): number {
  // Past leading zeros, more than 10 digits exceed MAX_SEED whatever they are: the cap keeps Number() exact.
  const digits = /^0*([0-9]{1,10})$/.exec(text.trim())?.[1];
  const value = digits === undefined ? NaN : Number(digits);
  if (!isValidSeed(value)) throw new SeedError(`seed must be a whole number from 0 to ${MAX_SEED}, got "${text}"`);
  return value;
}

/** parseSeed's seed, or undefined where it refuses the text. */
export function seedOf(text: string): number | undefined {
  try {
    return parseSeed(text);
  } catch (error) {
    if (error instanceof SeedError) return undefined;
    throw error;
  }
}
