/**
 * dalle-mini's `TextNormalizer` (docs/model-format.md#text-normalizer, DM
 * `src/dalle_mini/model/text.py`): the 27 steps that turned training captions into the text the BPE
 * vocab was trained on. A prompt that skips them loses punctuation to `<unk>` and drifts from the
 * training distribution.
 *
 * Regex semantics: after step 4 the text is pure ASCII, where JavaScript's `\w \d \s \b` match the
 * same characters as Python's (ASCII control characters \x1c–\x1f, which Python counts as
 * whitespace and JavaScript does not, are already removed in step 1), and `replace` with a global
 * regex is Python's non-overlapping `re.sub`. JavaScript `$` without the `m` flag is Python's `\Z`.
 */
import { decodeHTML } from 'entities/decode';
import { transliterate } from 'transliteration';
import { demojize } from './demojize.ts';
import { fixText } from './fix-unicode.ts';
import type { WordSegmenter } from './word-segmenter.ts';

export interface NormalizeOptions {
  /** Uniform [0, 1) source for the `<person>` draws; Math.random when absent (as dalle-mini). */
  readonly rng?: () => number;
  /** Splits hashtags into words; without it a hashtag is kept as one word. */
  readonly wordSegmenter?: WordSegmenter | undefined;
}

/** CC12M's replacements for `<person>`, weighted by their Wikipedia counts (DM `person_token`). */
const PERSON_TOKENS = [
  ['a person', 282265],
  ['someone', 121194],
  ['somebody', 12219],
] as const;

/** Placeholder stem: letters only, so it survives punctuation handling and never repeats 4×. */
const TEMP = 'xtokx';
const DOT = `${TEMP}dot${TEMP}`;
const QUOTE = `${TEMP}quote${TEMP}`;
const SLASH = `${TEMP}slash${TEMP}`;

/** Python's `random.choices(population, weights)`: bisect_right over the cumulative weights. */
export function drawPersonToken(rng: () => number): string {
  const total = PERSON_TOKENS.reduce((sum, [, weight]) => sum + weight, 0);
  const x = rng() * total;
  let cumulative = 0;
  for (const [token, weight] of PERSON_TOKENS) {
    cumulative += weight;
    if (x < cumulative) return token;
  }
  return PERSON_TOKENS[2][0]; // only reached if rng() returns 1
}

/** `prepareChar` results; bounded so that a long-lived page cannot grow it without end. */
const asciiCache = new Map<string, string>();

/** CJK unified ideographs (BMP): unidecode spells each as a syllable plus a space ("北京" → "Bei Jing "). */
const IDEOGRAPH = /^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]$/;

/** Common characters where the package and unidecode disagree, spelled as unidecode does. */
const UNIDECODE_SPELLING: Readonly<Record<string, string>> = {
  '€': 'EUR',
  '¼': ' 1/4',
  '½': ' 1/2',
  '¾': ' 3/4',
};

/** How one non-ASCII character enters the whole-text transliteration below. */
function prepareChar(ch: string): string {
  const fixed = UNIDECODE_SPELLING[ch];
  if (fixed !== undefined) return fixed;
  const known = transliterate(ch);
  // The package only spaces ideographs from each other; unidecode's trailing space also ends a
  // URL or a hashtag at an ideograph, so it is added here.
  if (IDEOGRAPH.test(ch)) return known === '' ? '' : `${known} `;
  const nfkc = ch.normalize('NFKC');
  return known === '' && nfkc !== ch ? nfkc : ch;
}

/**
 * Step 4, Python's unidecode, via the `transliteration` package. Compared with unidecode 1.3 over
 * Latin-1, Latin Extended, General Punctuation, letterlike symbols, kana, Hangul and CJK (after
 * lowercasing, as step 5 does): identical except some Greek and Cyrillic letters (modern rather
 * than scholarly romanisation, "β" → "v" not "b") and rare symbols. The package leaves some
 * symbols unknown that unidecode knows through compatibility forms (𝐀, ①, ℕ): those are
 * NFKC-folded first. Anything non-ASCII still left is dropped: unidecode's output is ASCII.
 */
function transliterateToAscii(text: string): string {
  const prepared = text.replace(/[\u0080-\u{10ffff}]/gu, (ch) => {
    let mapped = asciiCache.get(ch);
    if (mapped === undefined) {
      mapped = prepareChar(ch);
      if (asciiCache.size < 10_000) asciiCache.set(ch, mapped);
    }
    return mapped;
  });
  return transliterate(prepared).replace(/[\u0080-\uffff]/g, '');
}

/** Step 6 (CC12M captions): several `<person>`s in a row become "people", each other one a random noun. */
function replacePersonTokens(text: string, rng: () => number): string {
  let t = text.replace(/<person>(?:[,\s]*(?:and)*[,\s]*<person>)+/g, ' people ');
  while (t.includes('<person>')) t = t.replace('<person>', ` ${drawPersonToken(rng)} `);
  return t;
}

/** Steps 26–27: strip, drop one trailing and one leading comma, strip, prefix a space. */
function trimCommas(text: string): string {
  let t = text.trim();
  if (t.endsWith(',')) t = t.slice(0, -1);
  if (t.startsWith(',')) t = t.slice(1);
  return ` ${t.trim()}`;
}

export function normalizeText(text: string, options: NormalizeOptions = {}): string {
  const rng = options.rng ?? Math.random;
  const segmenter = options.wordSegmenter;
  let t = fixText(text); // 1
  t = decodeHTML(decodeHTML(t)); // 2
  t = demojize(t); // 3
  t = transliterateToAscii(t); // 4
  t = t.toLowerCase(); // 5
  t = replacePersonTokens(t, rng); // 6
  t = t.replace(/^\s*\[\d+\]/, '').replace(/\[\d+\]\s*$/, ''); // 7 wiki references
  t = t.replace(/<[^<]+?>/g, ' '); // 8 HTML tags
  t = t.replace(/http\S+/g, ''); // 9 URLs
  t = t.replace(/(\d),(\d{3})/g, '$1$2').replace(/(\d),(\d{3})/g, '$1$2'); // 10 thousands
  t = t.replace(/(\w)\.(\w)/g, `$1${DOT}$2`); // 11
  t = t.replace(/'(?=(?:[stdm]|ll|re|ve)\b)/g, QUOTE); // 12
  t = t.replace(/(\d)\/(\d)/g, `$1${SLASH}$2`); // 13
  t = t.replace(/(\w)-(\w)/g, '$1 $2').replace(/([%&/$*])/g, ' $1 '); // 14
  // 15: without a word list the hashtag body stays one word (the `#` goes, as it would anyway).
  t = t.replace(/#(\w+)/g, (_, word: string) => (segmenter ? segmenter.split(word).join(' ') : word));
  t = t.replace(/[_#\\]/g, ' '); // 16
  t = t.replace(/['"`]/g, ' " '); // 17
  t = t.replace(/[()[\].,|:;?!=+~\-/{}]/g, ','); // 18
  t = t.replaceAll(DOT, '.').replaceAll(QUOTE, "'").replaceAll(SLASH, '/'); // 19–21
  t = t.replace(/(\D)\1{3,}/g, '$1'); // 22
  t = t.replace(/(?:\s*"+\s*)+/g, ' " '); // 23
  t = t.replace(/(?:\s*,+\s*)+/g, ', '); // 24
  t = t.replace(/\s+/g, ' '); // 25
  return trimCommas(t); // 26–27
}
