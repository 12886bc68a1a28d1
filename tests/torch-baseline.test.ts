/**
 * bench/torch_baseline.py (the PyTorch implementation of min-dalle's algorithm that `npm run bench:torch` compares
 * with) and our pipeline compute the same generation: on the tiny model's Flax checkpoint and its export, greedy
 * super-conditioned tokens agree at every step. Skipped where /usr/bin/python3 has no torch.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadDalle } from '../src/pipeline/load-dalle.ts';
import { DEFAULT_SAMPLING } from '../src/pipeline/sampler.ts';
import { sessionOptionsFor } from '../src/pipeline/session-options.ts';
import { PAD_ID } from '../src/text/bpe-tokenizer.ts';
import { openModelFolder } from '../tools/node/model-folder.ts';
import { tinyCheckpoint, tinyModel } from './helpers/fixtures.ts';
import { ort } from './helpers/graphs.ts';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, msgpack'], { stdio: 'ignore' }).status === 0;
const IMAGES = 2;

void test(
  'the PyTorch baseline draws our greedy tokens on the tiny model',
  { skip: !hasTorch && 'no torch' },
  async () => {
    const folder = openModelFolder(tinyModel('fp32'));
    const { engine, text, dispose } = await loadDalle(ort, folder, sessionOptionsFor('wasm', folder.manifest));
    const prompt = text.encode('a red circle', 1);
    let ours: Int32Array;
    try {
      ours = await engine.generateTokens({
        prompt,
        unconditional: text.unconditional,
        count: IMAGES,
        seed: 1,
        sampling: { ...DEFAULT_SAMPLING, topK: 1 },
      });
    } finally {
      await dispose();
    }
    const end = prompt.ids.indexOf(PAD_ID);
    const ids = end === -1 ? prompt.ids : prompt.ids.slice(0, end);
    const checkpoint = join(tinyCheckpoint().dalle, '..');
    const script = join(import.meta.dirname, '..', 'bench', 'torch_baseline.py');
    const args = [script, '--checkpoint', checkpoint, '--ids', ids.join(','), '--images', String(IMAGES)];
    const child = spawnSync(PYTHON, [...args, '--top-k', '1', '--threads', '1', '--no-vqgan'], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    const torch = (JSON.parse(child.stdout) as { tokens: number[][] }).tokens;
    assert.deepEqual(torch.flat(), Array.from(ours));
  },
);
