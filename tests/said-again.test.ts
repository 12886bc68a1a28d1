/**
 * A switch of language says the messages the stores hold again in the new language (src/ui/said-again.ts,
 * language-messages.ts): the error a visitor switched language to read, with its translated detail; an engine's own
 * words stay as they are.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { i18n, t } from '../src/ui/i18n.ts';
import { switchLanguage } from '../src/ui/language-messages.ts';
import { joinSaid } from '../src/ui/said-again.ts';
import { INITIAL_RANKING, useRankingStore } from '../src/ui/ranking-store.ts';
import { INITIAL_STATE, useAppStore } from '../src/ui/store.ts';

afterEach(() => {
  switchLanguage('en');
  useAppStore.setState(INITIAL_STATE, true);
  useRankingStore.setState(INITIAL_RANKING, true);
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

void test('a message that is its own detail (English "{{detail}}") switches back and forth without end', () => {
  const zh = i18n.getFixedT('zh-CN');
  const error = t('errorNames.PromptError', { detail: 'Type a prompt to draw' });
  assert.equal(error, 'Type a prompt to draw');
  useAppStore.setState({ error });
  for (let round = 0; round < 3; round++) {
    switchLanguage('zh-CN');
    assert.equal(useAppStore.getState().error, zh('errorNames.PromptError', { detail: 'Type a prompt to draw' }));
    switchLanguage('en');
    assert.equal(useAppStore.getState().error, 'Type a prompt to draw');
  }
});

void test("a message held for long outlasts a drawing's progress labels; joined messages follow too", () => {
  const zh = i18n.getFixedT('zh-CN');
  useRankingStore.setState({ offReason: t('ranking.offRandom') });
  for (let step = 1; step <= 3000; step++) {
    useAppStore.setState({ progress: { label: t('status.step', { step, total: 3000 }), fraction: null } });
  }
  const joined = joinSaid([t('history.memoryUnavailable'), t('history.empty')], ' ');
  useAppStore.setState({ error: joined });
  switchLanguage('zh-CN');
  assert.equal(useRankingStore.getState().offReason, zh('ranking.offRandom'));
  assert.equal(useAppStore.getState().progress?.label, zh('status.step', { step: 3000, total: 3000 }));
  assert.equal(useAppStore.getState().error, `${zh('history.memoryUnavailable')} ${zh('history.empty')}`);
});
