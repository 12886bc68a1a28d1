/**
 * npm run tokenize -- --model <dir> "<prompt>" [--seed n]
 * Prints {"normalized": "…", "ids": […]} for the model's tokenizer, with the app's normaliser.
 * `ids` is `<s>` + content + `</s>` without the `<pad>` tail (the encoder input is that row padded
 * to the model's text length), so it compares directly with spec §4.4's test vectors.
 */
import { BpeTokenizer, PAD_ID } from '../src/text/bpe-tokenizer.ts';
import { preparePrompt, PromptError } from '../src/text/prompt.ts';
import type { PreparedPrompt } from '../src/text/prompt.ts';
import { WordSegmenter } from '../src/text/word-segmenter.ts';
import { intArg, parseArgs, runCli, UsageError } from './cli-args.ts';
import { openModelFolder, readText } from './node/model-folder.ts';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['model', 'seed']);
  const modelDir = args.values.get('model');
  if (!modelDir || args.positional.length === 0) throw new UsageError('usage: npm run tokenize -- --model <dir> "<prompt>" [--seed n]');
  // Unquoted words arrive as several arguments; they still make one prompt.
  const prompt = args.positional.join(' ');
  const seed = intArg(args, 'seed', 0);

  const source = openModelFolder(modelDir);
  const { manifest } = source;
  const tokenizer = BpeTokenizer.fromFiles(await readText(source, manifest.tokenizer.vocab), await readText(source, manifest.tokenizer.merges));
  const words = manifest.tokenizer.wordFrequencies;
  const wordFrequencies = words === undefined ? null : new WordSegmenter(await readText(source, words));

  let prepared: PreparedPrompt;
  try {
    prepared = preparePrompt(prompt, tokenizer, { seed, wordFrequencies, maxLength: manifest.dalleBart.maxTextLength });
  } catch (error) {
    // A bad prompt is the user's to fix: one line, no stack trace.
    throw error instanceof PromptError ? new UsageError(error.message) : error;
  }
  const { normalized, ids } = prepared;
  const end = ids.indexOf(PAD_ID);
  console.log(JSON.stringify({ normalized, ids: end === -1 ? ids : ids.slice(0, end) }));
}

runCli(main);
