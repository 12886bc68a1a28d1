/**
 * A user prompt → the encoder's input row (docs/model-format.md#text-preprocessing):
 * TextNormalizer, then BPE with `<s>`/`</s>` and padding. The unconditional row is the tokenised
 * empty string, never normalised (DM
 * `processor.py`).
 */
import { createRng } from '../core/rng.ts';
import type { BpeTokenizer, EncodedPrompt } from './bpe-tokenizer.ts';
import { normalizeText } from './normalizer.ts';
import { checkPromptText, PromptError } from './prompt-checks.ts';
import type { WordSegmenter } from './word-segmenter.ts';

/** PRNG stream of the `<person>` draws, apart from the image streams (0, 1, …) of the same seed. */
export const PERSON_STREAM = 0x7e47;

export interface PromptOptions {
  /** The generation seed: the same seed and prompt always normalise the same way. */
  readonly seed: number;
  /** Splits hashtags into words (normalizer.ts); without it a hashtag is kept as one word. */
  readonly wordSegmenter?: WordSegmenter | undefined;
  readonly maxLength?: number;
}

export interface PreparedPrompt extends EncodedPrompt {
  /** The normalised text (leading space included) that was tokenised. */
  readonly normalized: string;
  /**
   * The end of the prompt as the visitor typed it that the model never reads ('' when all of it fits): the caller
   * tells the visitor rather than cutting the prompt silently.
   */
  readonly ignoredText: string;
}

/** Scripts written without spaces between words: there every character boundary is one between words. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}]/u;

/**
 * The last of `ends` whose prefix fits, by bisection: `ends[0]` fits (the caller sees to it) and the text past the
 * last of them does not.
 */
function lastFitting(ends: readonly number[], fits: (end: number) => boolean): number {
  let [kept, cut] = [0, ends.length];
  while (cut - kept > 1) {
    const middle = (kept + cut) >> 1;
    if (fits(ends[middle]!)) kept = middle;
    else cut = middle;
  }
  return ends[kept]!;
}

/**
 * What the model does not read of `text`, in the visitor's own words: the normalised text is lower case,
 * transliterated (Chinese becomes pinyin) and spaced differently, so the cut is found on the original: the longest
 * prefix of whole words whose tokens still fit, by bisection. Whole words: a half-typed word can cost more tokens than
 * the whole one, so prefixes that split words do not grow in tokens as they grow in length; a word the model read
 * only the start of is quoted whole, unless it is the first (a long run without spaces): that one is cut between
 * characters. Characters are graphemes, so an emoji with its skin tone or a letter with its accents stays whole.
 */
function ignoredOfOriginal(text: string, fits: (prefix: string) => boolean): string {
  const units = [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);
  const fitsUpTo = (end: number): boolean => fits(units.slice(0, end).join(''));
  const wordEnds = [0];
  for (let i = 1; i < units.length; i++) {
    const [before, after] = [units[i - 1]!, units[i]!];
    if ((/\S/u.test(before) && /^\s/u.test(after)) || UNSPACED.test(before) || UNSPACED.test(after)) wordEnds.push(i);
  }
  let end = lastFitting(wordEnds, fitsUpTo);
  if (end === 0) {
    const firstWordEnd = wordEnds[1] ?? units.length;
    end = lastFitting(
      Array.from({ length: firstWordEnd }, (_, i) => i),
      fitsUpTo,
    );
  }
  return units.slice(end).join('').trim();
}

export function preparePrompt(text: string, tokenizer: BpeTokenizer, options: PromptOptions): PreparedPrompt {
  checkPromptText(text);
  // The same `<person>` draws for the same seed, also for the prefixes ignoredOfOriginal tries.
  const normalize = (prefix: string): string =>
    normalizeText(prefix, { rng: createRng(options.seed, PERSON_STREAM), wordSegmenter: options.wordSegmenter });
  const normalized = normalize(text);
  // Letters, digits or emoji: a prompt of only quotes or @ signs would draw from punctuation alone.
  if (!/[\p{L}\p{N}\p{Extended_Pictographic}]/u.test(normalized)) {
    throw new PromptError(
      'The prompt has no words the model can read (only symbols or punctuation?): describe the image in words.',
    );
  }
  const maxLength = options.maxLength ?? 64;
  const fits = (prefix: string): boolean => tokenizer.encode(normalize(prefix)).length <= maxLength - 2;
  const ignoredText = tokenizer.encode(normalized).length <= maxLength - 2 ? '' : ignoredOfOriginal(text, fits);
  return { normalized, ignoredText, ...tokenizer.encodePrompt(normalized, maxLength) };
}

/** The classifier-free-guidance row: `[<s>, </s>, <pad>…]`. */
export function unconditionalPrompt(tokenizer: BpeTokenizer, maxLength = 64): EncodedPrompt {
  return tokenizer.encodePrompt('', maxLength);
}
