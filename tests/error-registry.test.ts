/** The worker boundary's error registry: every error a person can act on is listed, under its own name. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BOUNDARY_ERRORS, fromErrorData, toErrorData } from '../src/worker/error-data.ts';

const SRC = join(import.meta.dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : /\.tsx?$/.test(entry.name)
        ? [join(dir, entry.name)]
        : [],
  );
}

void test('each registered class is listed under the name its errors carry, and survives the round trip', () => {
  for (const [name, errorClass] of Object.entries(BOUNDARY_ERRORS)) {
    // Constructed without arguments: only the name matters here.
    const error = Reflect.construct(errorClass, []) as Error;
    assert.equal(error.name, name);
    const rebuilt = fromErrorData(toErrorData(error));
    assert.ok(rebuilt instanceof errorClass, name);
  }
});

void test('every ExpectedError subclass in src/ is registered, so none arrives on the page as a plain Error', () => {
  const declared = sourceFiles(SRC).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/export class (\w+) extends ExpectedError\b/g)].map((m) => m[1]!),
  );
  assert.ok(declared.length > 10);
  for (const name of declared)
    assert.ok(name in BOUNDARY_ERRORS, `${name} is missing from BOUNDARY_ERRORS (src/worker/error-data.ts)`);
});
