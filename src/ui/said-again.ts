/**
 * The stores hold messages as text, in the page's language when they were made (an error, a notice, why a model
 * cannot run here). So that a visitor who switches language to read one gets it in the new language, `t` (i18n.ts)
 * remembers how it made each text, and `sayAgain` makes the same call again in the language now, saying any
 * remembered text among its values again too (a message's detail is often one). A text `t` did not make (an
 * engine's own words) stays as it is.
 */

/** Enough for every message on a page at once; the oldest are forgotten first. */
const MAX_REMEMBERED = 500;
const remembered = new Map<string, () => string>();

export function remember(text: string, again: () => string): void {
  remembered.delete(text);
  remembered.set(text, again);
  if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
}

/** `text` in the language now, if `t` made it; else `text`. */
export function sayAgain(text: string): string {
  return remembered.get(text)?.() ?? text;
}

/** `t`'s arguments with the remembered texts among an options object's values said again. */
export function argumentsAgain(args: readonly unknown[]): unknown[] {
  return args.map((arg, i) =>
    i > 0 && typeof arg === 'object' && arg !== null && !Array.isArray(arg)
      ? Object.fromEntries(Object.entries(arg).map(([k, v]) => [k, typeof v === 'string' ? sayAgain(v) : v]))
      : arg,
  );
}
