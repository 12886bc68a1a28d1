/**
 * Step 3 of the TextNormalizer: Python's `emoji.demojize(text)` with its default `:` delimiters,
 * e.g. "🍎" → ":red_apple:", "👍🏽" → ":thumbs_up_medium_skin_tone:", "🇺🇸" → ":United_States:".
 *
 * Names come from emojibase-data (Unicode CLDR short names, the same source the Python package
 * uses) turned into the Python package's spelling: "flag: " dropped, `:` `,` `“` `”` removed,
 * spaces → `_`. Checked against emoji 2.2 for all 3,979 emojibase entries, skin tones included:
 * the only differences are letter case (lowercased by step 5 anyway) and emoji newer than that
 * release, which it leaves untouched.
 *
 * Matching is longest-first, so ZWJ families and skin-tone sequences win over their parts; a
 * sequence with no name of its own (a non-standard ZWJ combination, a tone on an emoji that takes
 * none) falls apart into named pieces, as the Python package does.
 */
import emojiData from 'emojibase-data/en/compact.json' with { type: 'json' };

/**
 * Variation selectors are dropped before matching: the Python package knows each emoji with and
 * without U+FE0F, and unidecode deletes both selectors anyway.
 */
const VARIATION_SELECTORS = /[\ufe0e\ufe0f]/g;

interface EmojiTable {
  readonly names: ReadonlyMap<string, string>;
  /** First UTF-16 unit of every key: lets the scan skip ordinary text quickly. */
  readonly starts: ReadonlySet<number>;
  readonly longest: number;
}

let table: EmojiTable | undefined;

function pythonName(label: string): string {
  const name = label.startsWith('flag: ') ? label.slice('flag: '.length) : label;
  return name
    .replace(/[:,“”]/g, '')
    .trim()
    .replace(/\s+/g, '_');
}

/** Built on first use: about 4,000 entries, a few milliseconds. */
function emojiTable(): EmojiTable {
  if (table) return table;
  const names = new Map<string, string>();
  const add = (unicode: string, label: string): void => {
    const key = unicode.replace(VARIATION_SELECTORS, '');
    // Bare regional indicators have no name in the Python package; only pairs (flags) do.
    if (key !== '' && !/^regional indicator /.test(label) && !names.has(key)) names.set(key, pythonName(label));
  };
  for (const entry of emojiData) {
    add(entry.unicode, entry.label);
    for (const skin of entry.skins ?? []) add(skin.unicode, skin.label);
  }
  const keys = [...names.keys()];
  table = {
    names,
    starts: new Set(keys.map((k) => k.charCodeAt(0))),
    longest: Math.max(...keys.map((k) => k.length)),
  };
  return table;
}

export function demojize(text: string): string {
  const stripped = text.replace(VARIATION_SELECTORS, '');
  const { names, starts, longest } = emojiTable();
  let out = '';
  let i = 0;
  while (i < stripped.length) {
    let matched = 0;
    if (starts.has(stripped.charCodeAt(i))) {
      for (let len = Math.min(longest, stripped.length - i); len > 0; len--) {
        const name = names.get(stripped.slice(i, i + len));
        if (name !== undefined) {
          out += `:${name}:`;
          matched = len;
          break;
        }
      }
    }
    if (matched === 0) {
      out += stripped.charAt(i);
      matched = 1;
    }
    i += matched;
  }
  return out;
}
