/**
 * A small, deterministic byte-level BPE vocab in the layout of DALL·E Mini's `vocab.json` and
 * `merges.txt` (docs/model-format.md#tokenizer): 5 specials, the same 50 base symbols, then one token per merge.
 * The real files cannot be downloaded here, so random checkpoints ship this instead.
 */
import { mergePair, pretokenize } from '../../src/text/bpe-tokenizer.ts';

export const SPECIAL_TOKENS = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'] as const;

/** The real vocab's base alphabet in id order (ids 5…54); `Ġ` is the byte-level space. */
export const BASE_SYMBOLS: readonly string[] = [
  ...'"$%&\'*,./',
  ...'0123456789',
  ...'<>@^',
  ...'abcdefghijklmnopqrstuvwxyz',
  'Ġ',
];

export const FIRST_MERGE_ID = SPECIAL_TOKENS.length + BASE_SYMBOLS.length;

export const DEFAULT_MERGE_COUNT = 400;

/**
 * Image prompts as the TextNormalizer would leave them (lowercase, punctuation turned into
 * commas, spaces around `% & / $ *`), minus the leading space the trainer adds.
 */
export const CORPUS: readonly string[] = [
  'a photo of an astronaut riding a horse',
  'sunset over a lake in the mountains',
  'sunset over a lake, in the mountains',
  'avocado armchair',
  'an armchair in the shape of an avocado',
  'nuclear explosion broccoli',
  'dali painting of wall e',
  'a painting of a fox sitting in a field at sunrise',
  'a cat wearing a red hat',
  'a dog playing in the snow',
  'a small house on a hill, digital art',
  'a teapot in the shape of a pumpkin',
  'an oil painting of a lighthouse during a storm',
  'a watercolor painting of a forest in autumn',
  'a city skyline at night, neon lights',
  'a robot reading a book in a library',
  'a bowl of ramen, studio lighting',
  'a portrait of a woman with flowers in her hair',
  'a close up photo of a bee on a flower',
  'an illustration of a dragon flying over a castle',
  'a pencil sketch of an old man smiling',
  'a cozy cabin in the woods covered in snow',
  'a spaceship landing on mars',
  'the moon rising over the ocean',
  'a bear eating honey in the forest',
  'a sandwich made of clouds',
  'a giraffe wearing sunglasses',
  'a penguin surfing a big wave',
  'a street in paris in the rain',
  'a pixel art castle on a mountain',
  'a cartoon of a happy frog',
  'a futuristic car driving through a desert',
  'a painting of the starry night with a cat',
  'a vase of sunflowers on a wooden table',
  'a lion resting under a tree at sunset',
  'a photo of a red barn in a green field',
  'a submarine exploring a coral reef',
  'a bicycle made of glass',
  'an elephant painting a picture',
  'a clock melting on a beach',
  'the eiffel tower made of chocolate',
  'a waterfall in a tropical jungle',
  'a snowman holding an umbrella',
  'a knight fighting a giant snail',
  'a bowl of fruit, still life, oil on canvas',
  'a child flying a kite on a windy day',
  'a train crossing a bridge in the mountains',
  'a hot air balloon over a valley',
  'a photo of a mountain lake at dawn',
  'a black and white photo of a city street',
  'an owl sitting on a branch at night',
  'a colorful parrot in the rainforest',
  'a mug of hot chocolate with marshmallows',
  'a pizza with pineapple and ham',
  'a stained glass window of a peacock',
  'a medieval map of an imaginary island',
  'a koala eating leaves in a tree',
  'a horse running on the beach at sunset',
  'a wooden boat on a calm river',
  'a skyscraper covered in plants',
  'a 3d render of a cute monster',
  'an anime drawing of a girl with blue hair',
  'a statue of a man riding a horse',
  'a tiger walking through tall grass',
  'a cup of coffee on a rainy morning',
  'a field of tulips in holland',
  'a lantern floating on a dark lake',
  'a fairy house inside a mushroom',
  'a cake shaped like a castle',
  'a chair made of bananas',
  'a dinosaur playing the guitar',
  'a fox in the snow, watercolor',
  'a lighthouse on a rocky coast',
  'a family having a picnic in the park',
  'a cowboy riding a bull in a rodeo',
  'a cathedral with tall windows',
  'a sunflower field under a blue sky',
  'a close up of a butterfly wing',
  'a rainbow over a green valley',
  'a volcano erupting at night',
  'a quiet village in the snow',
  'a market full of fresh vegetables',
  'an astronaut floating in space',
  'a rocket launching into the sky',
  'a squirrel holding an acorn',
  'a turtle swimming in the ocean',
  'a mountain cabin with a red door',
  'a portrait of a dog in a suit',
  'a cat sleeping on a warm windowsill',
  'a bowl of strawberries and cream',
  'a tree house in a giant oak',
  'a desert road with a vintage car',
  'an ancient temple in the jungle',
  'a snowy forest at twilight',
  'a storm over the sea, oil painting',
  'a gold ring with a blue stone',
  'a kitten playing with yarn',
  'a city of the future, concept art',
  'a bridge over a river at sunrise',
  'a white horse in a misty field',
  'a glass of orange juice on a table',
  'a man walking a dog in the rain',
  'a woman reading on a park bench',
  'a robot painting a landscape',
  'a castle in the clouds',
  'a frog sitting on a lily pad',
  'a sailboat on a stormy sea',
  'a treasure chest full of gold coins',
  'a magical forest with glowing mushrooms',
  'a plate of pancakes with syrup',
  'an octopus playing the piano',
  'a red fox jumping over a log',
  'a photo of a sandy beach with palm trees',
  'a garden full of roses',
  'a lamp shaped like a moon',
  'a skateboarder doing a trick',
  'a train station in the snow',
  'a steam train in the mountains',
  'a bunny eating a carrot',
  'a wolf howling at the moon',
  'a dragon sleeping on a pile of gold',
  'a cup of tea and a book',
  'a pair of red shoes',
  'a watercolor of a small harbor town',
  'a foggy morning in the mountains',
  'a neon sign that says hello',
  'the milky way over a desert',
  'a cactus in a clay pot',
  'a ship sailing through icebergs',
  'a hamburger with cheese and lettuce',
  'a polar bear on an ice floe',
  'a group of friends around a campfire',
  'a lighthouse at night with stars',
  'a panda eating bamboo',
  'a city park in spring',
  'a road through autumn trees',
  'a portrait of a king, oil painting',
  'a photo of 2 cats on a sofa',
  "a clock showing 12 o'clock",
  "it's 3.5 inches and costs 1000000 dollars",
  '10/12/2022 meeting, 50 % off & more',
  'a sign that says " open "',
  "the cat's toy under the bed",
  'a poster for a 1980s movie',
  'a robot & a dog in a garden',
  'a drawing of 100 birds in the sky',
  'an email address like hello@example.com',
  'a math formula, x^2',
  'a price tag with $ 20',
  'a star * on a christmas tree',
  'a tall glass < a short glass > a cup',
  "we're going to the beach, they've left, i'm happy, you'll see, he'd go",
];

const BASE_ALPHABET = new Set(BASE_SYMBOLS);

interface Word {
  symbols: string[];
  count: number;
}

/** Pre-tokenises the corpus exactly as the tokenizer will, then counts distinct words. */
function corpusWords(): Word[] {
  const counts = new Map<string, number>();
  for (const prompt of CORPUS) {
    for (const word of pretokenize(` ${prompt}`)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts].map(([word, count]) => {
    const symbols = Array.from(word);
    const stray = symbols.find((s) => !BASE_ALPHABET.has(s));
    if (stray !== undefined) throw new Error(`toy corpus: ${JSON.stringify(stray)} is not a base symbol`);
    return { symbols, count };
  });
}

function countPairs(words: readonly Word[]): Map<string, { left: string; right: string; count: number }> {
  const pairs = new Map<string, { left: string; right: string; count: number }>();
  for (const { symbols, count } of words) {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const left = symbols[i] ?? '';
      const right = symbols[i + 1] ?? '';
      const key = `${left} ${right}`;
      const entry = pairs.get(key);
      if (entry) entry.count += count;
      else pairs.set(key, { left, right, count });
    }
  }
  return pairs;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Most frequent pair, ties by lexicographic (left, right). Pairs whose concatenation is already a
 * token are skipped so that every merge adds exactly one id (vocab size = 55 + merges).
 */
function bestPair(words: readonly Word[], vocab: Readonly<Record<string, number>>): [string, string] | undefined {
  let best: { left: string; right: string; count: number } | undefined;
  for (const pair of countPairs(words).values()) {
    if (Object.hasOwn(vocab, pair.left + pair.right)) continue;
    const better =
      best === undefined ||
      pair.count > best.count ||
      (pair.count === best.count &&
        (compareStrings(pair.left, best.left) || compareStrings(pair.right, best.right)) < 0);
    if (better) best = pair;
  }
  return best && [best.left, best.right];
}

export function trainToyVocab(mergeCount: number): { vocab: Record<string, number>; merges: string[] } {
  if (!Number.isInteger(mergeCount) || mergeCount < 0) {
    throw new RangeError(`mergeCount must be a non-negative integer, got ${mergeCount}`);
  }
  const vocab: Record<string, number> = {};
  for (const token of [...SPECIAL_TOKENS, ...BASE_SYMBOLS]) vocab[token] = Object.keys(vocab).length;
  const merges: string[] = [];
  let words = corpusWords();
  while (merges.length < mergeCount) {
    const pair = bestPair(words, vocab);
    // A silently smaller vocab would disagree with the model config's embedding size.
    if (pair === undefined) throw new RangeError(`toy corpus supports only ${merges.length} merges`);
    const [left, right] = pair;
    vocab[left + right] = FIRST_MERGE_ID + merges.length;
    merges.push(`${left} ${right}`);
    words = words.map((w) => ({ symbols: mergePair(w.symbols, left, right), count: w.count }));
  }
  return { vocab, merges };
}

/**
 * Serialised like Hugging Face's files. vocab.json is written by hand in id order because
 * JSON.stringify would hoist integer-like keys such as "0" or "10" to the front.
 */
export function toyVocabFiles(mergeCount: number = DEFAULT_MERGE_COUNT): {
  'vocab.json': string;
  'merges.txt': string;
} {
  const { vocab, merges } = trainToyVocab(mergeCount);
  const entries = Object.entries(vocab).sort((a, b) => a[1] - b[1]);
  const vocabJson = `{${entries.map(([token, id]) => `${JSON.stringify(token)}:${id}`).join(',')}}`;
  const mergesTxt = ['#version: 0.2 - Trained by huggingface/tokenizers', ...merges].join('\n') + '\n';
  return { 'vocab.json': vocabJson, 'merges.txt': mergesTxt };
}
