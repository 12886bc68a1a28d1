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

/**
 * What the model does not read of `text`, in the visitor's own words: the normalised text is lower case,
 * transliterated (Chinese becomes pinyin) and spaced differently, so the cut is found on the original, the longest
 * prefix whose tokens still fit (by bisection), moved back to the start of a word it would split.
 */
function ignoredOfOriginal(text: string, fits: (prefix: string) => boolean): string {
  const chars = [...text];
  let [kept, cut] = [0, chars.length];
  while (cut - kept > 1) {
    const middle = (kept + cut) >> 1;
    if (fits(chars.slice(0, middle).join(''))) kept = middle;
    else cut = middle;
  }
  // A word half read is quoted whole; text without spaces (Chinese, Japanese) is cut where it is.
  let start = kept;
  while (start > 0 && kept - start < 40 && /\S/u.test(chars[start - 1]!)) start -= 1;
  if (start === 0 || /\S/u.test(chars[start - 1]!)) start = kept;
  return chars.slice(start).join('').trim();
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
