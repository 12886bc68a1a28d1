/**
 * Our file formats are named `<kind>/<version>`. A file whose kind this app knows at a higher version was written by a
 * newer app: the site was updated while this page stayed open (or its service worker still serves the older app). The
 * remedy is a reload, not a new export, so it gets its own message.
 */

/** Why `json`'s `format` is a newer version of one of `known`, or null when it is not. */
export function newerFormat(json: unknown, known: readonly string[], source: string): string | null {
  const format = typeof json === 'object' && json !== null && 'format' in json ? json.format : undefined;
  if (typeof format !== 'string') return null;
  const [kind, version] = format.split('/');
  const newer = known.some((name) => {
    const [knownKind, knownVersion] = name.split('/');
    return kind === knownKind && /^\d+$/.test(version ?? '') && Number(version) > Number(knownVersion);
  });
  return newer
    ? `${source} is in format "${format}", which a newer version of this app wrote: reload the page to get it (this one reads ${known.join(', ')}).`
    : null;
}
