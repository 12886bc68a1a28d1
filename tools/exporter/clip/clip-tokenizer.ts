/**
 * A small CLIP tokenizer in the layout of the hub's `tokenizer.json` (openai/clip-vit-base-patch32):
 * NFC, whitespace runs to one space and lowercase; CLIP's word regex; byte-level characters; BPE
 * with the `</w>` end-of-word suffix; `<|startoftext|>` … `<|endoftext|>` around every text. The
 * vocab keeps the real one's order (256 byte characters, the same with `</w>`, merges, then the two
 * specials, so end-of-text has the largest id, which the text graph's pooling relies on).
 */
import { BYTE_ENCODER } from '../../../src/text/bpe-tokenizer.ts';

const WORDS = [
  'a',
  'an',
  'the',
  'of',
  'in',
  'on',
  'and',
  'with',
  'photo',
  'painting',
  'red',
  'blue',
  'green',
  'apple',
  'cat',
  'dog',
  'horse',
  'house',
  'lake',
  'mountains',
  'sunset',
  'snow',
  'astronaut',
  'riding',
  'avocado',
  'armchair',
  'tree',
  'sky',
  'city',
  'night',
];

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

/** CLIP's word split (the hub tokenizer.json's Split pattern). */
const CLIP_WORD_PATTERN =
  "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

export interface ClipVocab {
  /** Tokens in id order. */
  readonly tokens: readonly string[];
  readonly merges: readonly string[];
}

export function clipToyVocab(): ClipVocab {
  const tokens = [...BYTE_ENCODER, ...BYTE_ENCODER.map((ch) => `${ch}</w>`)];
  const known = new Set(tokens);
  const merges: string[] = [];
  for (const word of WORDS) {
    const chars = Array.from(word);
    let symbols = [...chars.slice(0, -1), `${chars[chars.length - 1]!}</w>`];
    while (symbols.length > 1) {
      const [left, right] = [symbols[0]!, symbols[1]!];
      const merged = left + right;
      if (!known.has(merged)) {
        known.add(merged);
        tokens.push(merged);
        merges.push(`${left} ${right}`);
      }
      symbols = [merged, ...symbols.slice(2)];
    }
  }
  return { tokens: [...tokens, START_OF_TEXT, END_OF_TEXT], merges };
}

const special = (id: number, content: string): object => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: true,
  special: true,
});

/** tokenizer.json, tokenizer_config.json; the vocab is written by hand in id order (JSON.stringify hoists "0"…"9"). */
export function clipTokenizerFiles(vocab: ClipVocab): { 'tokenizer.json': string; 'tokenizer_config.json': string } {
  const start = vocab.tokens.length - 2;
  const end = vocab.tokens.length - 1;
  const body = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(start, START_OF_TEXT), special(end, END_OF_TEXT)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_WORD_PATTERN }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [END_OF_TEXT, end],
      cls: [START_OF_TEXT, start],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  };
  const model = {
    type: 'BPE',
    dropout: null,
    unk_token: END_OF_TEXT,
    continuing_subword_prefix: '',
    end_of_word_suffix: '</w>',
    fuse_unk: false,
    byte_fallback: false,
  };
  const vocabJson = `{${vocab.tokens
    .slice(0, start)
    .map((token, id) => `${JSON.stringify(token)}:${id}`)
    .join(',')},${JSON.stringify(START_OF_TEXT)}:${start},${JSON.stringify(END_OF_TEXT)}:${end}}`;
  const modelJson = `${JSON.stringify(model).slice(0, -1)},"vocab":${vocabJson},"merges":${JSON.stringify(vocab.merges)}}`;
  const tokenizerJson = `${JSON.stringify(body).slice(0, -1)},"model":${modelJson}}\n`;
  const config = {
    add_prefix_space: false,
    bos_token: START_OF_TEXT,
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    eos_token: END_OF_TEXT,
    errors: 'replace',
    model_max_length: 77,
    pad_token: END_OF_TEXT,
    tokenizer_class: 'CLIPTokenizer',
    unk_token: END_OF_TEXT,
  };
  return { 'tokenizer.json': tokenizerJson, 'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n` };
}
