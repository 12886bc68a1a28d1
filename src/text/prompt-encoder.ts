/** The text side of a model, loaded once from its files: tokenizer, optional hashtag word list, text length. */
import type { ModelSource } from '../model/model-source.ts';
import { BpeTokenizer } from './bpe-tokenizer.ts';
import type { EncodedPrompt } from './bpe-tokenizer.ts';
import { preparePrompt, unconditionalPrompt } from './prompt.ts';
import type { PreparedPrompt } from './prompt.ts';
import { WordSegmenter } from './word-segmenter.ts';

export interface PromptEncoder {
  /** Normalizes and tokenizes a user prompt; the seed drives the normalizer's person-token draws. */
  encode(text: string, seed: number): PreparedPrompt;
  /** tokenizer("") — the unconditional row of super-conditioning. */
  readonly unconditional: EncodedPrompt;
}

export async function loadPromptEncoder(source: ModelSource): Promise<PromptEncoder> {
  const { manifest } = source;
  const text = async (path: string): Promise<string> => new TextDecoder().decode(await source.readFile(path));
  const tokenizer = BpeTokenizer.fromFiles(await text(manifest.tokenizer.vocab), await text(manifest.tokenizer.merges));
  // The manifest names the word-frequency file (a path); the prompt is given the segmenter built from it.
  const words = manifest.tokenizer.wordFrequencies;
  const wordSegmenter = words === undefined ? undefined : new WordSegmenter(await text(words));
  const maxLength = manifest.dalleBart.maxTextLength;
  return {
    encode: (prompt, seed) => preparePrompt(prompt, tokenizer, { seed, wordSegmenter, maxLength }),
    unconditional: unconditionalPrompt(tokenizer, maxLength),
  };
}
