/**
 * GPT-2 style byte-level BPE, as `BartTokenizerFast` runs it for DALL·E Mini (docs/model-format.md#tokenizer).
 * Dependency-free so the same code runs in the browser and in Node tools/tests.
 * `add_prefix_space` is false: the text normaliser supplies the leading space.
 */

import { TEXT_SPECIAL_TOKENS } from '../model/manifest.ts';

/** Special ids fixed by the DALL·E Mini vocab (docs/model-format.md#special-tokens). */
export const { bos: BOS_ID, pad: PAD_ID, eos: EOS_ID, unk: UNK_ID } = TEXT_SPECIAL_TOKENS;

/** GPT-2 pre-tokenisation: contractions, ` ?letters`, ` ?digits`, ` ?symbols`, whitespace. */
const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Bounds memory for long-running pages; prompts reuse few words, so clearing is cheap. */
const CACHE_LIMIT = 10_000;

/**
 * GPT-2's bytes→unicode table: printable bytes map to themselves, the rest to U+0100 onwards,
 * so every byte is a visible character (space 0x20 → `Ġ` U+0120).
 */
function buildByteEncoder(): string[] {
  const printable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) {
    table.push(String.fromCharCode(printable(b) ? b : 256 + next++));
  }
  return table;
}

export const BYTE_ENCODER: readonly string[] = buildByteEncoder();
const BYTE_DECODER: ReadonlyMap<string, number> = new Map(BYTE_ENCODER.map((ch, b) => [ch, b]));

const utf8Encoder = new TextEncoder();

/** Splits text into GPT-2 pre-tokens, each already mapped to its byte-level characters. */
export function pretokenize(text: string): string[] {
  const words: string[] = [];
  for (const match of text.matchAll(PRETOKENIZE)) {
    let mapped = '';
    for (const byte of utf8Encoder.encode(match[0])) mapped += BYTE_ENCODER[byte];
    words.push(mapped);
  }
  return words;
}

/** Key for a merge pair; byte-level tokens never contain a real space, so this is unambiguous. */
function pairKey(left: string, right: string): string {
  return `${left} ${right}`;
}

function parseVocab(vocabJson: string): Map<string, number> {
  const raw: unknown = JSON.parse(vocabJson);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TypeError('vocab.json must be a JSON object of token → id');
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(raw)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new TypeError(`vocab.json: id of ${JSON.stringify(token)} is not a non-negative integer`);
    }
    vocab.set(token, id as number);
  }
  return vocab;
}

/** merges.txt: optional `#version` header, then `left right` per line in rank order. */
function parseMerges(mergesTxt: string): Map<string, number> {
  const ranks = new Map<string, number>();
  for (const line of mergesTxt.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#version')) continue;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new SyntaxError(`merges.txt: malformed line ${JSON.stringify(line)}`);
    }
    const key = pairKey(parts[0] ?? '', parts[1] ?? '');
    if (!ranks.has(key)) ranks.set(key, ranks.size);
  }
  return ranks;
}

export interface EncodedPrompt {
  readonly ids: number[];
  readonly attentionMask: number[];
}

export class BpeTokenizer {
  private readonly idToToken: Map<number, string>;
  private readonly unkId: number;
  private readonly cache = new Map<string, number[]>();

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly ranks: ReadonlyMap<string, number>,
  ) {
    this.idToToken = new Map([...vocab].map(([token, id]) => [id, token]));
    this.unkId = vocab.get('<unk>') ?? UNK_ID;
  }

  static fromFiles(vocabJson: string, mergesTxt: string): BpeTokenizer {
    return new BpeTokenizer(parseVocab(vocabJson), parseMerges(mergesTxt));
  }

  get vocabSize(): number {
    return this.vocab.size;
  }

  /** Content ids only (no `<s>`/`</s>`), as the fast tokenizer's BPE model produces them. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const word of pretokenize(text)) ids.push(...this.encodeWord(word));
    return ids;
  }

  /**
   * `[<s>, ...content, </s>]` padded with `<pad>` to maxLength; truncation drops content, never
   * the specials, matching HF `truncation=True, padding="max_length"` (docs/model-format.md#tokenizer).
   */
  encodePrompt(text: string, maxLength = 64): EncodedPrompt {
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new RangeError(`maxLength must be an integer ≥ 2, got ${maxLength}`);
    }
    const content = this.encode(text).slice(0, maxLength - 2);
    const ids = [BOS_ID, ...content, EOS_ID];
    while (ids.length < maxLength) ids.push(PAD_ID);
    return { ids, attentionMask: ids.map((id) => (id === PAD_ID ? 0 : 1)) };
  }

  /** Debug view: joins token strings and undoes the byte mapping; unknown ids show as `<unk>`. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      for (const ch of this.idToToken.get(id) ?? '<unk>') {
        const byte = BYTE_DECODER.get(ch);
        if (byte !== undefined) bytes.push(byte);
      }
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const ids = this.bpe(word).map((piece) => this.vocab.get(piece) ?? this.unkId);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  /** Repeatedly merges the adjacent pair with the lowest rank until no ranked pair remains. */
  private bpe(word: string): string[] {
    let symbols = Array.from(word);
    for (;;) {
      const best = this.bestPair(symbols);
      if (best === undefined) return symbols;
      symbols = mergePair(symbols, best[0], best[1]);
    }
  }

  private bestPair(symbols: readonly string[]): [string, string] | undefined {
    let best: [string, string] | undefined;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < symbols.length; i++) {
      const left = symbols[i] ?? '';
      const right = symbols[i + 1] ?? '';
      const rank = this.ranks.get(pairKey(left, right));
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = [left, right];
      }
    }
    return best;
  }
}

/** Replaces every non-overlapping occurrence of (left, right), scanning left to right. */
export function mergePair(symbols: readonly string[], left: string, right: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < symbols.length) {
    const current = symbols[i] ?? '';
    if (current === left && symbols[i + 1] === right) {
      out.push(left + right);
      i += 2;
    } else {
      out.push(current);
      i += 1;
    }
  }
  return out;
}
