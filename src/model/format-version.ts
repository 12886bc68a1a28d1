/**
 * Our file formats are named `<kind>/<version>`. A file whose kind this app knows at a higher version was written by a
 * newer app: the site was updated while this page stayed open (or its service worker still serves the older app). The
 * remedy is a reload, not a new export, so it is its own error.
 */
import { ExpectedError } from '../core/expected-error.ts';

export class NewerFormatError extends ExpectedError {
  override name = 'NewerFormatError';
}

/** Refuses `json` whose `format` is a newer version of one of `known`; anything else is the caller's to check. */
export function refuseNewerFormat(json: unknown, known: readonly string[], source: string): void {
  const format = typeof json === 'object' && json !== null && 'format' in json ? json.format : undefined;
  if (typeof format !== 'string') return;
  const [kind, version] = format.split('/');
  const newer = known.some((name) => {
    const [knownKind, knownVersion] = name.split('/');
    return kind === knownKind && /^\d+$/.test(version ?? '') && Number(version) > Number(knownVersion);
  });
  if (newer)
    throw new NewerFormatError(
      `${source} is in format "${format}", which a newer version of this app wrote: reload the page (or update this copy of the app) to read it; this one reads ${known.join(', ')}.`,
    );
}
