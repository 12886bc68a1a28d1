/** What the status's live region says while a drawing runs: a few milestones, not every step. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { announcedProgress } from '../src/ui/announced-progress.ts';
import { t } from '../src/ui/i18n.ts';

void test('a drawing of 256 steps is announced by its start, its quarters and its end, not step by step', () => {
  const said = new Set<string>();
  said.add(announcedProgress({ label: t('status.encoding'), fraction: 0 }, t));
  for (let step = 1; step <= 256; step++)
    said.add(announcedProgress({ label: t('status.step', { step, total: 256 }), fraction: step / 256 }, t));
  said.add(announcedProgress({ label: t('status.done', { seconds: '4.1' }), fraction: 1 }, t));
  said.add(announcedProgress({ label: t('status.cancelled'), fraction: null }, t));
  assert.deepEqual(
    [...said].filter((text) => text !== ''),
    [
      'Encoding the prompt…',
      '25 % done',
      '50 % done',
      '75 % done',
      'Drawing: step 256 of 256',
      'Done in 4.1 s',
      'Cancelled',
    ],
  );
  assert.equal(announcedProgress(null, t), '');
});
