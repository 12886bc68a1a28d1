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
   * The end of `normalized` past the model's text length, which the model never reads ('' when all
   * of it fits): the caller tells the visitor rather than cutting the prompt silently.
   */
  readonly ignoredText: string;
}

export function preparePrompt(text: string, tokenizer: BpeTokenizer, options: PromptOptions): PreparedPrompt {
  checkPromptText(text);
  const normalized = normalizeText(text, {
    rng: createRng(options.seed, PERSON_STREAM),
    wordSegmenter: options.wordSegmenter,
  });
  // Letters, digits or emoji: a prompt of only quotes or @ signs would draw from punctuation alone.
  if (!/[\p{L}\p{N}\p{Extended_Pictographic}]/u.test(normalized)) {
    throw new PromptError(
      'The prompt has no words the model can read (only symbols or punctuation?): describe the image in words.',
    );
  }
  const maxLength = options.maxLength ?? 64;
  const content = tokenizer.encode(normalized);
  const ignoredText = tokenizer.decode(content.slice(maxLength - 2)).trim();
  return { normalized, ignoredText, ...tokenizer.encodePrompt(normalized, maxLength) };
}

/** The classifier-free-guidance row: `[<s>, </s>, <pad>…]`. */
export function unconditionalPrompt(tokenizer: BpeTokenizer, maxLength = 64): EncodedPrompt {
  return tokenizer.encodePrompt('', maxLength);
}
