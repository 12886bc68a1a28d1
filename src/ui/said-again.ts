/**
 * The stores hold messages as text, in the page's language when they were made (an error, a notice, why a model
 * cannot run here). So that a visitor who switches language to read one gets it in the new language, `t` (i18n.ts)
 * remembers how it made each text, and `sayAgain` makes the same call again in the language now, saying any
 * remembered text among its values again too (a message's detail is often one). A text `t` did not make (an
 * engine's own words) stays as it is.
 */

/**
 * The texts made last; the oldest are forgotten first, and language-messages.ts keeps those the stores hold among the
 * newest, so a long-lived message outlasts a drawing's hundreds of progress labels.
 */
const MAX_REMEMBERED = 1000;
const remembered = new Map<string, () => string>();
/** Texts being said again now: a text met again inside its own re-saying stays as it is. */
const saying = new Set<string>();

export function remember(text: string, again: () => string): void {
  remembered.delete(text);
  remembered.set(text, again);
  if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
}

/** Keeps `text` among the newest remembered (it is still shown). */
export function keepRemembering(text: string): void {
  const again = remembered.get(text);
  if (again) remember(text, again);
}

/** `text` in the language now, if `t` made it; else `text`. */
export function sayAgain(text: string): string {
  const again = remembered.get(text);
  // A message that is its own detail (English `"{{detail}}"`) would otherwise say itself again without end.
  if (!again || saying.has(text)) return text;
  saying.add(text);
  try {
    return again();
  } finally {
    saying.delete(text);
  }
}

/** `t`'s arguments with the remembered texts among an options object's values said again. */
export function argumentsAgain(args: readonly unknown[]): unknown[] {
  return args.map((arg, i) =>
    i > 0 && typeof arg === 'object' && arg !== null && !Array.isArray(arg)
      ? Object.fromEntries(Object.entries(arg).map(([k, v]) => [k, typeof v === 'string' ? sayAgain(v) : v]))
      : arg,
  );
}

/** Texts joined into one message, remembered as the same texts joined again. */
export function joinSaid(parts: readonly string[], separator: string): string {
  const text = parts.join(separator);
  remember(text, () => parts.map(sayAgain).join(separator));
  return text;
}
