import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixText } from '../src/text/fix-unicode.ts';
import { demojize } from '../src/text/demojize.ts';
import { drawPersonToken, normalizeText } from '../src/text/normalizer.ts';
import { WordSegmenter } from '../src/text/word-segmenter.ts';
import { createRng } from '../src/core/rng.ts';

/** A hand-made frequency list, most frequent first, in enwiki-words-frequency.txt's format. */
const WORDS = [
  'the',
  'of',
  'and',
  'a',
  'in',
  'to',
  'over',
  'sun',
  'set',
  'lake',
  'sunset',
  'cat',
  'hat',
  "'s",
  's',
  'love',
  'new',
  'york',
  'i',
  'at',
  'night',
];
const segmenter = new WordSegmenter(WORDS.map((w, i) => `${w} ${10_000 - i}`).join('\n') + '\n');

/** Draws that always land on the first, second or third person token. */
const rngAt = (x: number) => () => x;

void test('reproduces every example of docs/model-format.md#text-normalizer', () => {
  const rows: [string, string][] = [
    ['Sunset over a lake, in the mountains!', ' sunset over a lake, in the mountains'],
    ['A photo of an astronaut (riding a horse)...', ' a photo of an astronaut, riding a horse'],
    ["it's 3.5 inches and costs 1,000,000 dollars", " it's 3.5 inches and costs 1000000 dollars"],
    ['<p>Hello&amp;amp;World</p> see http://x.com/a.png', ' hello & world see'],
    ['Sooooo cute!!!! cat-dog', ' so cute, cat dog'],
    ['10/12/2022 meeting: 50% off & more', ' 10/12/2022 meeting, 50 % off & more'],
    ['a/b test', ' a, b test'],
    ['', ' '],
  ];
  for (const [input, expected] of rows) assert.equal(normalizeText(input), expected, JSON.stringify(input));
});

void test('names emoji as emoji.demojize does, then words', () => {
  assert.equal(demojize('🍎'), ':red_apple:');
  assert.equal(demojize('👍🏽'), ':thumbs_up_medium_skin_tone:');
  assert.equal(demojize('🇺🇸'), ':United_States:');
  assert.equal(demojize('👨‍👩‍👧‍👦'), ':family_man_woman_girl_boy:');
  assert.equal(demojize('🧑🏻‍🤝‍🧑🏿'), ':people_holding_hands_light_skin_tone_dark_skin_tone:');
  assert.equal(demojize('🈁'), ':Japanese_here_button:');
  // With and without the emoji variation selector, as the Python package matches both.
  assert.equal(demojize('❤️ ❤'), ':red_heart: :red_heart:');
  // A tone on an emoji that takes none falls apart into two names.
  assert.equal(demojize('🍎🏻'), ':red_apple::light_skin_tone:');
  assert.equal(demojize('plain text 123'), 'plain text 123');

  assert.equal(normalizeText('🍎'), ' red apple');
  assert.equal(normalizeText('I ❤️ NY 👍🏽'), ' i, red heart, ny, thumbs up medium skin tone');
  assert.equal(normalizeText('a 🐱 on a 🛋️'), ' a, cat face, on a, couch and lamp');
  assert.equal(normalizeText('🇫🇷'), ' france');
});

void test('transliterates to ASCII as unidecode does', () => {
  assert.equal(normalizeText('Café crème'), ' cafe creme');
  assert.equal(normalizeText('naïve façade, Ærøskøbing'), ' naive facade, aeroskobing');
  assert.equal(normalizeText('Straße'), ' strasse');
  assert.equal(normalizeText('北京 at night'), ' bei jing at night');
  assert.equal(normalizeText('½ price, 5€'), ' 1/2 price, 5eur');
  assert.equal(normalizeText('𝐁𝐨𝐥𝐝 ① ﬁsh'), ' bold 1 fish');
});

void test('straightens curly quotes and keeps contractions', () => {
  assert.equal(normalizeText('“Hello” ‘world’'), ' " hello " world "');
  assert.equal(normalizeText('it’s the cat’s hat, they’ve gone'), " it's the cat's hat, they've gone");
  assert.equal(normalizeText("rock 'n' roll"), ' rock " n " roll');
});

void test('repairs common mojibake before anything else', () => {
  assert.equal(fixText('itâ€™s a cafÃ©'), 'it’s a café');
  assert.equal(fixText('Ã¢â‚¬Å“double'), '“double');
  assert.equal(fixText('ðŸ˜€'), '😀');
  assert.equal(fixText('Ð¿Ñ€Ð¸Ð²ÐµÑ‚'), 'привет');
  assert.equal(fixText('æ—¥æœ¬'), '日本');
  // Real text that merely looks like one sequence is kept.
  assert.equal(fixText('Fuß» «Au café…»'), 'Fuß» «Au café…»');
  assert.equal(fixText('e\u0301\u0000\ufeff'), 'é');
  // ftfy unescapes HTML only on lines without a literal `<`, and repeats until nothing changes.
  assert.equal(fixText('&amp;\n<html>\n&amp;'), '&\n<html>\n&amp;');
  assert.equal(fixText('&amp;amp;amp;amp;'), '&');
  assert.equal(normalizeText('itâ€™s a cafÃ©'), " it's a cafe");
});

void test('draws person tokens with dalle-mini weights from the given rng', () => {
  assert.equal(drawPersonToken(rngAt(0)), 'a person');
  assert.equal(drawPersonToken(rngAt(282264 / 415678)), 'a person');
  assert.equal(drawPersonToken(rngAt(282265 / 415678)), 'someone');
  assert.equal(drawPersonToken(rngAt(0.97)), 'someone');
  assert.equal(drawPersonToken(rngAt(0.99)), 'somebody');
  assert.equal(normalizeText('a photo of <person>', { rng: rngAt(0) }), ' a photo of a person');
  assert.equal(normalizeText('a photo of <person>', { rng: rngAt(0.8) }), ' a photo of someone');
  assert.equal(normalizeText('a photo of <PERSON>', { rng: rngAt(0.999) }), ' a photo of somebody');

  const draws = (seed: number) =>
    normalizeText('<person> with a dog, <person> with a cat', { rng: createRng(seed, 1) });
  assert.equal(draws(7), draws(7));
  const seen = new Set<string>();
  for (let seed = 0; seed < 200; seed++)
    for (const word of draws(seed).match(/a person|someone|somebody/g) ?? []) seen.add(word);
  assert.deepEqual([...seen].sort(), ['a person', 'somebody', 'someone']);
});

void test('merges repeated <person> tokens into "people"', () => {
  assert.equal(normalizeText('<person> and <person>'), ' people');
  assert.equal(normalizeText('<person>, <person> and <person> at the beach'), ' people at the beach');
  assert.equal(normalizeText('<person> is <person>', { rng: rngAt(0) }), ' a person is a person');
});

void test('splits hashtags with a word list, like dalle-mini', () => {
  assert.deepEqual(segmenter.split('sunsetoverthelake'), ['sunset', 'over', 'the', 'lake']);
  assert.deepEqual(segmenter.split("thecat'shat"), ['the', "cat's", 'hat']);
  assert.deepEqual(segmenter.split('ilovenewyork2022'), ['i', 'love', 'new', 'york', '2022']);
  assert.deepEqual(segmenter.split('cat_hat'), ['cat', 'hat']);
  // Unknown text costs Infinity, and every later split ties: dalle-mini then spells it out.
  assert.deepEqual(segmenter.split('sunset2022night'), ['sunset', '2022', 'n', 'i', 'g', 'h', 't']);

  const opts = { wordSegmenter: segmenter };
  assert.equal(normalizeText('#sunsetoverthelake', opts), ' sunset over the lake');
  assert.equal(normalizeText('#SunsetOverTheLake at night', opts), ' sunset over the lake at night');
  assert.equal(normalizeText('#I_love_NewYork', opts), ' i love new york');
});

void test('keeps hashtags whole without a word list', () => {
  assert.equal(normalizeText('#sunsetoverthelake'), ' sunsetoverthelake');
  assert.equal(normalizeText('#I_love_NewYork'), ' i love newyork');
  assert.equal(normalizeText('##sunset', { wordSegmenter: undefined }), ' sunset');
});

void test('rejects an empty word list', () => {
  assert.throws(() => new WordSegmenter('\n\n'), RangeError);
  assert.equal(segmenter.size, WORDS.length);
});

void test('removes thousands separators, twice', () => {
  assert.equal(normalizeText('1,000,000 stars'), ' 1000000 stars');
  assert.equal(normalizeText('10,000 and 1,2345'), ' 10000 and 12345');
  assert.equal(normalizeText('12,34'), ' 12, 34');
});

void test('removes URLs, HTML tags and wiki references', () => {
  assert.equal(normalizeText('see https://example.com/x?y=1 now'), ' see now');
  assert.equal(normalizeText('<b>bold</b> move'), ' bold move');
  assert.equal(normalizeText('[12] a fox in the snow [3]'), ' a fox in the snow');
});

void test('decodes HTML entities twice', () => {
  assert.equal(normalizeText('Tom &amp; Jerry'), ' tom & jerry');
  assert.equal(normalizeText('&amp;quot;hi&amp;quot;'), ' " hi "');
  assert.equal(normalizeText('caf&eacute; &#x1F34E;'), ' cafe, red apple');
  assert.equal(normalizeText('&lt;b&gt;x&lt;/b&gt;'), ' x');
});

void test('always returns text that starts with one space and has no edge commas', () => {
  for (const input of ['!!!', ', a ,', '  \n\t ', '...hello...', '"quoted"']) {
    const out = normalizeText(input);
    assert.match(out, /^ (?! )/, JSON.stringify(input));
    assert.doesNotMatch(out, /^ ,|,$/, JSON.stringify(input));
  }
  assert.equal(normalizeText('!!!'), ' ');
  assert.equal(normalizeText('...hello...'), ' hello');
});
