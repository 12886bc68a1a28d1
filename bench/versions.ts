/** Versions a benchmark result depends on, read from the installed packages. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    const file = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function benchVersions(): Record<string, string> {
  return {
    'onnxruntime-web': packageVersion('onnxruntime-web'),
    'onnxruntime-node': packageVersion('onnxruntime-node'),
    node: process.versions.node,
  };
}
