/**
 * Hashtag splitting for step 15 of the TextNormalizer ("#sunsetoverthelake" → "sunset over the
 * lake"): dalle-mini's `HashtagProcessor`, a word-ninja style dynamic programme over word costs
 * from `enwiki-words-frequency.txt`.
 *
 * dalle-mini's cost of a word is log(rank + 1) with rank 0 for the first (most frequent) line, not
 * word-ninja's log((rank + 1)·log N): the extra log log N per word would favour fewer, longer words
 * and give different splits than the ones the model saw in training, so we follow dalle-mini.
 */

/** Python's `9e999`, i.e. float infinity: the cost of a substring that is not a known word. */
const UNKNOWN_COST = Infinity;

/** Hashtag text is cut into pieces at anything other than ASCII letters, digits and `'`. */
const PIECE_SEPARATOR = /[^a-zA-Z0-9']+/;

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9';

export class WordSegmenter {
  private readonly costs = new Map<string, number>();
  private readonly maxWordLength: number;

  /** `frequencies`: the text of enwiki-words-frequency.txt, one `word count` per line, most frequent first. */
  constructor(frequencies: string) {
    let rank = 0;
    let longest = 0;
    for (const line of frequencies.split(/\r?\n/)) {
      const word = line.trim().split(/\s+/, 1)[0] ?? '';
      if (word === '') continue; // blank lines (a trailing newline) carry no rank
      // A repeated word keeps its last rank, as Python's dict comprehension does.
      this.costs.set(word, Math.log(rank + 1));
      longest = Math.max(longest, [...word].length);
      rank++;
    }
    if (rank === 0) throw new RangeError('the word frequency list is empty');
    this.maxWordLength = longest;
  }

  get size(): number {
    return this.costs.size;
  }

  /**
   * Splits a hashtag body into words: pieces between non-alphanumerics are segmented one by one
   * and the results concatenated (the caller joins them with spaces).
   */
  split(text: string): string[] {
    return text.split(PIECE_SEPARATOR).flatMap((piece) => this.segment(piece));
  }

  /** The DP: cost[i] is the cheapest segmentation of the first i characters. */
  private segment(s: string): string[] {
    const n = s.length;
    const cost = new Float64Array(n + 1);
    const lastLength = new Int32Array(n + 1);
    for (let i = 1; i <= n; i++) {
      let best = Infinity;
      let bestLength = 0;
      // Python takes min over (cost, length) tuples: on equal costs the shorter last word wins,
      // which the strict `<` below reproduces (lengths are tried in increasing order).
      for (let k = 1; k <= Math.min(i, this.maxWordLength); k++) {
        const c = (cost[i - k] ?? 0) + (this.costs.get(s.slice(i - k, i).toLowerCase()) ?? UNKNOWN_COST);
        if (bestLength === 0 || c < best) {
          best = c;
          bestLength = k;
        }
      }
      cost[i] = best;
      lastLength[i] = bestLength;
    }
    return backtrack(s, lastLength);
  }
}

/**
 * Walks the chosen words from the end. A word is glued onto the one after it when that one is
 * "'s" or when both meet at digits ("20" + "22" → "2022"); a lone "'" is never glued.
 */
function backtrack(s: string, lastLength: Int32Array): string[] {
  const out: string[] = [];
  let i = s.length;
  while (i > 0) {
    const k = lastLength[i] ?? 1;
    const token = s.slice(i - k, i);
    const next = out.at(-1);
    if (token !== "'" && next !== undefined && (next === "'s" || (isDigit(s[i - 1]) && isDigit(next[0])))) {
      out[out.length - 1] = token + next;
    } else {
      out.push(token);
    }
    i -= k;
  }
  return out.reverse();
}
