/** `npm run export -- --from-hub …` end to end, against a local server in the hub's resolve/ layout. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { parseManifest } from '../src/model/manifest.ts';
import { VQGAN_REPO } from '../tools/exporter/from-hub.ts';
import { tinyCheckpoint } from './helpers/fixtures.ts';
import { startHubTestServer } from './helpers/hub-server.ts';

const root = mkdtempSync(join(tmpdir(), 'from-hub-'));
after(() => rmSync(root, { recursive: true, force: true }));

void test('export --from-hub downloads, verifies and exports a tiny checkpoint', async () => {
  const { dalle, vqgan } = tinyCheckpoint();
  cpSync(dalle, join(root, 'hub', 'dalle-mini', 'dalle-mini'), { recursive: true });
  cpSync(vqgan, join(root, 'hub', ...VQGAN_REPO.split('/')), { recursive: true });
  const server = await startHubTestServer(join(root, 'hub'));
  try {
    const out = join(root, 'out');
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      join(import.meta.dirname, '..', 'tools', 'export.ts'),
      '--from-hub',
      'dalle-mini/dalle-mini',
      '--hub-endpoint',
      server.endpoint,
      '--out',
      out,
      '--cache-dir',
      join(root, 'cache'),
      '--dtype',
      'q8',
      '--report',
      'off',
    ]);
    assert.match(stdout, /exported dalle-mini \(q8\)/);
    const manifest = parseManifest(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')));
    assert.equal(manifest.modelId, 'dalle-mini');
    assert.ok(
      server.requests.some((r) =>
        r.includes(
          '/dalle-mini/vqgan_imagenet_f16_16384/resolve/e93a26e7707683d349bf5d5c41c5b0ef69b677a9/flax_model.msgpack',
        ),
      ),
    );
    assert.ok(
      server.requests.some((r) => r.includes('enwiki-words-frequency.txt')),
      'the optional word list is asked for',
    );
    assert.equal(existsSync(join(out, 'enwiki-words-frequency.txt')), false);
  } finally {
    await server.close();
  }
});
