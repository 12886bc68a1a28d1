/**
 * A deploy faked over dist/ while `vite preview` serves it (it reads files as they are asked for): every hashed file
 * under assets/ gets a new name, ONNX Runtime's folder too (as a new ORT version would), and the pages, scripts and
 * service worker that name them follow, as a host swaps a new build in. The older version's files are then gone
 * from the server, as after a real deploy.
 */
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

export const DIST = join(import.meta.dirname, '../dist');

/** `name-HASH.ext`, Vite's names for what it builds into assets/. */
const HASHED = /^(.+)-([A-Za-z0-9_-]{8})\.(js|css)$/;

export interface FakeDeploy {
  /** Old path under dist (`/assets/app-X.js`) → the new one. */
  readonly renamed: ReadonlyMap<string, string>;
  /** ONNX Runtime's folder (`/ort/1.30.0/`) → the new one. */
  readonly ortFolder: readonly [string, string];
  /** Puts dist/ back as the build wrote it. */
  restore(): void;
}

export function deployNewVersion(dist = DIST): FakeDeploy {
  const renamed = new Map<string, string>();
  for (const name of readdirSync(join(dist, 'assets'))) {
    const match = HASHED.exec(name);
    if (match) renamed.set(`/assets/${name}`, `/assets/${match[1]!}-${match[2]!}v2.${match[3]!}`);
  }
  const [ortVersion] = readdirSync(join(dist, 'ort'));
  const ortFolder = [`/ort/${ortVersion!}/`, `/ort/${ortVersion!}-v2/`] as const;
  const texts = textFiles(dist).filter((path) => !/^(models|ort)\//.test(relative(dist, path)));
  const originals = new Map(texts.map((path) => [path, readFileSync(path, 'utf8')]));
  const done: [string, string][] = [];
  const restore = (): void => {
    for (const [from, to] of done.reverse()) renameSync(join(dist, to), join(dist, from));
    for (const [path, text] of originals) writeFileSync(path, text);
  };
  try {
    for (const [path, text] of originals) {
      let next = text;
      for (const [from, to] of renamed) next = next.replaceAll(basename(from), basename(to));
      next = next.replaceAll(ortFolder[0].slice(1), ortFolder[1].slice(1));
      // Each file's revision changes (its content may have: the names in it), as the build would write them.
      if (relative(dist, path) === 'sw.js') next = next.replace(/"revision":"([0-9a-f]{32})"/g, '"revision":"$1v2"');
      writeFileSync(path, next);
    }
    for (const [from, to] of [...renamed, ortFolder]) {
      renameSync(join(dist, from), join(dist, to));
      done.push([from, to]);
    }
  } catch (error) {
    restore();
    throw error;
  }
  return { renamed, ortFolder, restore };
}

function textFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return textFiles(path);
    return /\.(html|js|mjs|css|webmanifest)$/.test(name) ? [path] : [];
  });
}
