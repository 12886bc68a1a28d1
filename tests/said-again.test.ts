/**
 * A switch of language says the messages the stores hold again in the new language (src/ui/said-again.ts,
 * language-messages.ts): the error a visitor switched language to read, with its translated detail; an engine's own
 * words stay as they are.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { i18n, t } from '../src/ui/i18n.ts';
import { switchLanguage } from '../src/ui/language-messages.ts';
import { useRankingStore } from '../src/ui/ranking-store.ts';
import { INITIAL_STATE, useAppStore } from '../src/ui/store.ts';

afterEach(() => {
  switchLanguage('en');
  useAppStore.setState(INITIAL_STATE, true);
});

void test('an error and its translated detail, a notice, a progress label and reasons follow the language', () => {
  const zh = i18n.getFixedT('zh-CN');
  const detail = t('errorNames.WorkerCrashedError', { detail: 'The worker stopped.' });
  useAppStore.setState({
    error: t('history.failed', { detail }),
    notice: t('history.modelGone', { model: 'retired-v1' }),
    progress: { label: t('status.cancelled'), fraction: null },
    unavailable: { mega: t('history.memoryUnavailable') },
  });
  useRankingStore.setState({ offReason: t('ranking.offRandom') });
  const english = useAppStore.getState().error;

  switchLanguage('zh-CN');
  const state = useAppStore.getState();
  assert.equal(
    state.error,
    zh('history.failed', { detail: zh('errorNames.WorkerCrashedError', { detail: 'The worker stopped.' }) }),
  );
  assert.match(state.error ?? '', /无法更新历史记录/);
  assert.equal(state.notice, zh('history.modelGone', { model: 'retired-v1' }));
  assert.equal(state.progress?.label, zh('status.cancelled'));
  assert.equal(state.unavailable.mega, zh('history.memoryUnavailable'));
  assert.equal(useRankingStore.getState().offReason, zh('ranking.offRandom'));

  switchLanguage('en');
  assert.equal(useAppStore.getState().error, english, 'and back');
});

void test("words no translation made (an engine's message) stay as they are", () => {
  useAppStore.setState({ error: 'Aborted(). Build with -sASSERTIONS for more info.' });
  switchLanguage('zh-CN');
  assert.equal(useAppStore.getState().error, 'Aborted(). Build with -sASSERTIONS for more info.');
});
