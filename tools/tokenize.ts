/**
 * npm run tokenize -- --model <dir> "<prompt>" [--seed n]
 * Prints {"normalized": "…", "ids": […]} for the model's tokenizer, with the app's normaliser.
 * `ids` is `<s>` + content + `</s>` without the `<pad>` tail (the encoder input is that row padded
 * to the model's text length), so it compares directly with the test vectors in docs/model-format.md#test-vectors.
 */
import { PAD_ID } from '../src/text/bpe-tokenizer.ts';
import { loadPromptEncoder } from '../src/text/prompt-encoder.ts';
import { PromptError } from '../src/text/prompt-checks.ts';
import type { PreparedPrompt } from '../src/text/prompt.ts';
import { parseArgs, runCli, seedArg, UsageError } from './cli-args.ts';
import { openModelFolder } from './node/model-folder.ts';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), ['model', 'seed'], [], { takesPositional: true });
  const modelDir = args.values.get('model');
  if (!modelDir || args.positional.length === 0)
    throw new UsageError('usage: npm run tokenize -- --model <dir> "<prompt>" [--seed n]');
  // Unquoted words arrive as several arguments; they still make one prompt.
  const prompt = args.positional.join(' ');
  const seed = seedArg(args);

  const encoder = await loadPromptEncoder(openModelFolder(modelDir));

  let prepared: PreparedPrompt;
  try {
    prepared = encoder.encode(prompt, seed);
  } catch (error) {
    // A bad prompt is the user's to fix: one line, no stack trace.
    throw error instanceof PromptError ? new UsageError(error.message) : error;
  }
  const { normalized, ids } = prepared;
  const end = ids.indexOf(PAD_ID);
  console.log(JSON.stringify({ normalized, ids: end === -1 ? ids : ids.slice(0, end) }));
}

runCli(main);
