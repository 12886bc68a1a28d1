/**
 * A switch of language: the page's own strings follow at once (components translate as they render), and the messages
 * the stores hold as text are said again in the new language (said-again.ts) — the error a visitor switched language
 * to read first of all.
 */
import { setLanguage } from './i18n.ts';
import type { Language } from './i18n.ts';
import { useRankingStore } from './ranking-store.ts';
import { sayAgain } from './said-again.ts';
import { useAppStore } from './store.ts';

const again = (text: string | null) => (text === null ? null : sayAgain(text));

export function switchLanguage(language: Language): void {
  setLanguage(language);
  useAppStore.setState((s) => ({
    error: again(s.error),
    notice: again(s.notice),
    progress: s.progress && { ...s.progress, label: sayAgain(s.progress.label) },
    backendReason: sayAgain(s.backendReason),
    unavailable: Object.fromEntries(Object.entries(s.unavailable).map(([id, reason]) => [id, sayAgain(reason)])),
    offer: s.offer && { ...s.offer, spaceProblem: again(s.offer.spaceProblem) },
  }));
  useRankingStore.setState((s) => ({ offReason: again(s.offReason), detail: again(s.detail) }));
}
