/**
 * Step 1 of the dalle-mini TextNormalizer is `ftfy.fix_text`, which has no JavaScript twin.
 * This is a deliberately small stand-in that covers what ftfy fixes in typical prompts, in ftfy's
 * order:
 *  - HTML entities (with `;`) until the first line with a `<`, as ftfy's `unescape_html="auto"`;
 *  - terminal colour escapes (`ESC[…m`) removed;
 *  - mojibake: UTF-8 bytes that were decoded as Windows-1252 or Latin-1 ("â€™" → "’",
 *    "Ã©" → "é", "ðŸ˜€" → "😀"), double encodings included;
 *  - stray C1 controls read as Windows-1252 (U+0093 → "“");
 *  - line breaks unified to `\n`, lone surrogates → U+FFFD, control characters, BOMs and U+FFFC
 *    dropped;
 *  - NFC normalisation;
 *  - all of it repeated until the text stops changing, as `fix_text` does.
 * Not reproduced: ftfy's statistical "badness" scoring (we repair only byte sequences that decode
 * to valid UTF-8 and look broken, see `looksBroken`), its ligature/width/quote fixes (step 4's
 * transliteration has the same effect) and its rarer encodings (MacRoman, cp437, …).
 */
import { decodeHTMLStrict } from 'entities/decode';

/** Windows-1252's characters for bytes 0x80–0x9F; the five undefined bytes keep their Latin-1 C1 control. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

const BYTE_OF = new Map<string, number>();
for (let b = 0x80; b <= 0xff; b++) BYTE_OF.set(String.fromCharCode(b), b);
for (let i = 0; i < CP1252_HIGH.length; i++) BYTE_OF.set(CP1252_HIGH.charAt(i), 0x80 + i);

/** A UTF-8 continuation byte (0x80–0xBF) as Latin-1 or Windows-1252 shows it. */
const CONT = `[\\u0080-\\u00bf${CP1252_HIGH.replace(/[\u0080-\u009f]/g, '')}]`;
/** One UTF-8 sequence of 2, 3 or 4 bytes seen through Windows-1252/Latin-1; runs are matched whole. */
const MOJIBAKE = new RegExp(
  `(?:[\\u00c2-\\u00df]${CONT}|[\\u00e0-\\u00ef]${CONT}{2}|[\\u00f0-\\u00f4]${CONT}{3})+`,
  'g',
);
const SEQUENCE = new RegExp(`[\\u00c2-\\u00df]${CONT}|[\\u00e0-\\u00ef]${CONT}{2}|[\\u00f0-\\u00f4]${CONT}{3}`, 'g');

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Real text can look like one short sequence too: "Fuß»" (ß + »), "café…»" (é + … + »). ftfy weighs
 * such cases statistically; we call a run broken only when it is unmistakable: several sequences
 * in a row, a 4-byte one (emoji: "ðŸ˜€"), or a single one with the lead bytes that dominate real
 * mojibake: Â Ã Ä Å (Latin letters: "Ã©", "Å‚") and â ï (punctuation, symbols: "â€™", "ï»¿").
 */
function looksBroken(run: string): boolean {
  const sequences = run.match(SEQUENCE) ?? [];
  if (sequences.length !== 1) return sequences.length > 1;
  const lead = run.charCodeAt(0);
  if (run.length === 2) return lead >= 0xc2 && lead <= 0xc5;
  return run.length === 4 || lead === 0xe2 || lead === 0xef;
}

function decodeRun(run: string): string {
  const bytes = Uint8Array.from(run, (ch) => BYTE_OF.get(ch) ?? 0);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return run; // overlong forms, surrogates, …: not UTF-8 after all
  }
}

/**
 * One round; text encoded wrongly twice ("Ã¢â‚¬â„¢") is repaired by `fixText`'s repetition. Once
 * one run proves the text is mojibake, its doubtful runs ("Ð²", "ä¸­") are repaired too.
 */
export function fixMojibake(text: string): string {
  const runs = text.match(MOJIBAKE) ?? [];
  if (!runs.some(looksBroken)) return text;
  return text.replace(MOJIBAKE, decodeRun);
}

// Control characters are exactly what these patterns are for.
/* eslint-disable no-control-regex */
const TERMINAL_ESCAPE = /\x1b\[[0-9;]*[A-Za-z]/g;
const C1_CONTROL = /[\u0080-\u009f]/g;
const LINE_BREAK = /\r\n|[\r\u0085\u2028\u2029]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** ftfy's `remove_control_chars`: C0 controls except \t \n \f \r, DEL, BOM, deprecated format chars, U+FFFC. */
const CONTROL = /[\x00-\x08\x0b\x0e-\x1f\x7f\ufeff\u206a-\u206f\ufff9-\ufffc]/g;
/* eslint-enable no-control-regex */

function fixOnce(text: string, unescapeHtml: boolean): string {
  let t = unescapeHtml ? decodeHTMLStrict(text) : text;
  t = t.replace(TERMINAL_ESCAPE, '');
  t = fixMojibake(t);
  t = t.replace(C1_CONTROL, (ch) => CP1252_HIGH.charAt(ch.charCodeAt(0) - 0x80));
  t = t.replace(LINE_BREAK, '\n');
  t = t.replace(LONE_SURROGATE, '\ufffd');
  t = t.replace(CONTROL, '');
  return t.normalize('NFC');
}

/** One segment, fixed again and again until it stops changing, as ftfy does. */
function fixSegment(segment: string, unescapeHtml: boolean): string {
  let current = segment;
  for (let round = 0; round < 8; round++) {
    const next = fixOnce(current, unescapeHtml);
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * Our `ftfy.fix_text` stand-in (see the file comment). Like ftfy it works line by line, and from
 * the first line with a literal `<` on it takes the text for HTML and stops decoding entities.
 */
export function fixText(text: string): string {
  let unescapeHtml = true;
  let out = '';
  for (const [line] of text.matchAll(/[^\n]*\n?/g)) {
    if (unescapeHtml && line.includes('<')) unescapeHtml = false;
    out += fixSegment(line, unescapeHtml);
  }
  return out;
}
