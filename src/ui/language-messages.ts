/**
 * A switch of language: the page's own strings follow at once (components translate as they render), and the messages
 * the stores hold as text are said again in the new language (said-again.ts) — the error a visitor switched language
 * to read first of all.
 */
import { setLanguage } from './i18n.ts';
import type { Language } from './i18n.ts';
import { useRankingStore } from './ranking-store.ts';
import type { RankingState } from './ranking-store.ts';
import { keepRemembering, sayAgain } from './said-again.ts';
import { useAppStore } from './store.ts';
import type { AppState } from './store.ts';

type Say = (text: string) => string;

/** `say` for a field that may hold no text. */
const orNone = (say: Say) => (text: string | null) => (text === null ? null : say(text));

/** The stores' fields that hold text made in the page's language, each passed through `say`. */
function appMessages(s: AppState, say: Say): Partial<AppState> {
  const maybe = orNone(say);
  return {
    error: maybe(s.error),
    notice: maybe(s.notice),
    progress: s.progress && { ...s.progress, label: say(s.progress.label) },
    backendReason: say(s.backendReason),
    unavailable: Object.fromEntries(Object.entries(s.unavailable).map(([id, reason]) => [id, say(reason)])),
    offer: s.offer && { ...s.offer, host: say(s.offer.host), spaceProblem: maybe(s.offer.spaceProblem) },
  };
}

function rankingMessages(s: RankingState, say: Say): Partial<RankingState> {
  const maybe = orNone(say);
  return { offReason: maybe(s.offReason), detail: maybe(s.detail) };
}

const keep = (text: string) => (keepRemembering(text), text);

// What the stores hold now stays remembered however many texts are made meanwhile (a drawing's progress labels).
function keepHeld(): void {
  appMessages(useAppStore.getState(), keep);
  rankingMessages(useRankingStore.getState(), keep);
}
useAppStore.subscribe(keepHeld);
useRankingStore.subscribe(keepHeld);

export function switchLanguage(language: Language): void {
  setLanguage(language);
  useAppStore.setState((s) => appMessages(s, sayAgain));
  useRankingStore.setState((s) => rankingMessages(s, sayAgain));
}
