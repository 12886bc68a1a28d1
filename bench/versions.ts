/** Versions a benchmark result depends on, read from the installed packages. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The installed version; packages whose `exports` hide package.json are found from their entry point. */
function packageVersion(name: string): string {
  try {
    let dir = dirname(require.resolve(name));
    while (!existsSync(join(dir, 'package.json')) || readPackage(dir).name !== name) {
      if (dirname(dir) === dir) return 'unknown';
      dir = dirname(dir);
    }
    return readPackage(dir).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function readPackage(dir: string): { name?: string; version?: string } {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
}

export function benchVersions(): Record<string, string> {
  return {
    'onnxruntime-web': packageVersion('onnxruntime-web'),
    'onnxruntime-node': packageVersion('onnxruntime-node'),
    node: process.versions.node,
  };
}
