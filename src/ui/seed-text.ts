/**
 * The seed field's text → the seed, exactly, by the pipeline's one seed rule (seed.ts). A number
 * input would round 9007199254740993 to …992 and draw another picture than the one asked for; here
 * anything the rule refuses gets a message in the page's words instead.
 */
import { MAX_SEED, parseSeed, SeedError } from '../core/seed.ts';
import { t } from './i18n.ts';

export { MAX_SEED } from '../core/seed.ts';

function shown(text: string): string {
  return text.length > 24 ? `${text.slice(0, 24)}…` : text;
}

export function parseSeedText(text: string): number {
  try {
    return parseSeed(text);
  } catch (error) {
    if (!(error instanceof SeedError)) throw error;
    const trimmed = text.trim();
    const range = t('seed.range', { max: MAX_SEED });
    if (trimmed === '') throw new SeedError(t('seed.empty', { range }));
    if (!/^[0-9]+$/.test(trimmed)) throw new SeedError(t('seed.notNumber', { text: shown(trimmed), range }));
    throw new SeedError(t('seed.tooLarge', { text: shown(trimmed.replace(/^0+(?=[0-9])/, '')), range }));
  }
}

/** The message for the field while the user types, or null when the text is a seed. */
export function seedTextProblem(text: string): string | null {
  try {
    parseSeedText(text);
    return null;
  } catch (error) {
    if (error instanceof SeedError) return error.message;
    throw error;
  }
}
