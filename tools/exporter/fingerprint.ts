/**
 * A fingerprint of the code that decides what an export (or a random checkpoint) holds: the exporter's and the model
 * format's sources. A build stamped with another fingerprint is stale and built again.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const SOURCES = [join(ROOT, 'tools', 'exporter'), join(ROOT, 'src', 'model')];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** sha256 over the exporter's and the model format's source files. */
export function exporterFingerprint(): string {
  const hash = createHash('sha256');
  for (const file of SOURCES.flatMap(listFiles).sort())
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}
