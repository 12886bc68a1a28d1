/**
 * `tokenizer.json` for DalleBart's BPE (BartTokenizerFast's layout, as the dalle-mini hub repos ship
 * it) from `vocab.json` and `merges.txt`: byte-level pre-tokenizer without a prefix space, BPE,
 * `<s> … </s>` around the text. Random checkpoints write one, so the hub layout is complete and
 * tests can compare transformers.js' tokenizer with ours (docs/model-format.md#tokenizer).
 */
const special = (id: number, content: string): object => ({
  id,
  content,
  single_word: false,
  lstrip: content === '<mask>',
  rstrip: false,
  normalized: content !== '<mask>',
  special: true,
});

export function bartTokenizerJson(vocabJson: string, mergesTxt: string): string {
  const vocab = JSON.parse(vocabJson) as Record<string, number>;
  const merges = mergesTxt.split('\n').filter((line) => line !== '' && !line.startsWith('#version'));
  const specials = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'].filter((token) => Object.hasOwn(vocab, token));
  const body = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((token) => special(vocab[token]!, token)),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['</s>', vocab['</s>']],
      cls: ['<s>', vocab['<s>']],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  };
  const model = {
    type: 'BPE',
    dropout: null,
    unk_token: '<unk>',
    continuing_subword_prefix: '',
    end_of_word_suffix: '',
    fuse_unk: false,
    byte_fallback: false,
  };
  // vocab.json's text is kept as it is (its id order), JSON.stringify would hoist integer-like keys.
  const modelJson = `${JSON.stringify(model).slice(0, -1)},"vocab":${vocabJson.trim()},"merges":${JSON.stringify(merges)}}`;
  return `${JSON.stringify(body).slice(0, -1)},"model":${modelJson}}\n`;
}
