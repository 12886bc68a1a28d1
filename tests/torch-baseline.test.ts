/**
 * bench/torch_baseline.py (the PyTorch implementations of min-dalle's algorithm that `npm run bench:torch` compares
 * with: `min-dalle` as min-dalle computes it, and `cached-cross`) and our pipeline compute the same generation: on
 * the tiny model's Flax checkpoint and its export, greedy super-conditioned tokens agree at every step for both
 * algorithms. Skipped where /usr/bin/python3 has no torch.
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
const ALGORITHMS = ['min-dalle', 'cached-cross'] as const;

void test(
  'both PyTorch baselines draw our greedy tokens on the tiny model',
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
    for (const algorithm of ALGORITHMS) {
      const child = spawnSync(
        PYTHON,
        [...args, '--algorithm', algorithm, '--top-k', '1', '--threads', '1', '--no-vqgan'],
        {
          encoding: 'utf8',
        },
      );
      assert.equal(child.status, 0, child.stderr);
      const torch = JSON.parse(child.stdout) as { algorithm: string; tokens: number[][] };
      assert.equal(torch.algorithm, algorithm);
      assert.deepEqual(torch.tokens.flat(), Array.from(ours), algorithm);
    }
  },
);
